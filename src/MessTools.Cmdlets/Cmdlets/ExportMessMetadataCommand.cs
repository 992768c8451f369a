using System.Collections;
using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Database;

namespace MessTools.Cmdlets;

/// <summary>
/// Export-MessMetadata: reads the catalogue (SQLite file, CSV file or a PostgreSQL server), validates and
/// normalises every row, writes metadata/tracks_metadata.csv atomically and emits one MessTrack per good row,
/// streaming. A bad row is a non-terminating error naming its row number; the good rows go on.
/// </summary>
[Cmdlet(VerbsData.Export, "MessMetadata", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ConnectionSet, HelpUri = "https://github.com/messtools/MessTools/blob/main/README.md#1-export-messmetadata-the-catalogue")]
[OutputType(typeof(MessTrack))]
public sealed class ExportMessMetadataCommand : MessCmdlet
{
    protected override bool WritesArtifacts => true;

    private const string PathSet = "Path";
    private const string ConnectionSet = "Connection";
    public const string ConnectionEnvironmentVariable = "MESS_CATALOG_CONNECTION";

    /// <summary>A SQLite database or a CSV file (picked by content, then extension).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A PostgreSQL connection string (key=value or postgres:// URI); default $env:MESS_CATALOG_CONNECTION.</summary>
    [Parameter(ParameterSetName = ConnectionSet)]
    [ValidateNotNullOrEmpty]
    public string? ConnectionString { get; set; }

    /// <summary>User name and password for the server, instead of putting them in the connection string.</summary>
    [Parameter(ParameterSetName = ConnectionSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Auto, PostgreSql or Sqlite (a string: engine value types stay out of cmdlet fields).</summary>
    [Parameter(ParameterSetName = ConnectionSet)]
    [ValidateSet("Auto", "PostgreSql", "Sqlite")]
    public string Provider { get; set; } = "Auto";

    /// <summary>The catalogue table ([schema.]table); tab-completes from a SQLite -Path.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(CatalogTableCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Table { get; set; }

    /// <summary>A SELECT of your own instead of a whole table.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Query { get; set; }

    /// <summary>Metadata column to source column, e.g. @{ track_id = 'id'; audio_s3_key = 's3_path' }.</summary>
    [Parameter]
    public Hashtable? ColumnMap { get; set; }

    /// <summary>Composer spellings to one name, e.g. @{ 'Rachmaninov' = 'Rachmaninoff' }.</summary>
    [Parameter]
    public Hashtable? ComposerAlias { get; set; }

    protected override void ProcessRecord()
    {
        ExportRequest request;
        try
        {
            request = new ExportRequest
            {
                Store = Store, LockTimeout = LockTimeout,
                Columns = new ColumnMap(ToStringMap(ColumnMap, "ColumnMap")),
                Composers = new ComposerNormalizer(ToStringMap(ComposerAlias, "ComposerAlias")),
            };
        }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        using ICatalogSource source = OpenSource();
        try { ExportJob.Run(request, source, JobHost, WriteObject); }
        catch (MessException ex) { ThrowTerminating(ex); }
        catch (OperationCanceledException) { return; }
        finally { CompleteProgress(1, ExportJob.Activity); }
    }

    private ICatalogSource OpenSource()
    {
        try
        {
            if (ParameterSetName == PathSet)
                return CatalogSourceFactory.OpenFile(ResolveUserPath(Path), Table, Query);
            string cs = PostgresConnection.Resolve(ConnectionString, ConnectionEnvironmentVariable, "NoCatalogSource",
                "Name the catalogue: -Path <file.sqlite|file.csv>, -ConnectionString '<Host=...;Database=...>'");
            return CatalogSourceFactory.OpenConnection(cs, Table, Query, Enum.Parse<CatalogProvider>(Provider, ignoreCase: true),
                Credential?.UserName, Credential?.GetNetworkCredential().Password);
        }
        catch (MessException ex) { ThrowTerminating(ex); return null!; }
    }

    private static Dictionary<string, string>? ToStringMap(Hashtable? table, string name)
    {
        if (table is null) return null;
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry e in table)
        {
            string? key = LanguagePrimitives.ConvertTo<string>(e.Key);
            string? value = e.Value is null ? null : LanguagePrimitives.ConvertTo<string>(e.Value);
            if (string.IsNullOrWhiteSpace(key) || value is null)
                throw new MessException(MessErrorIds.InvalidMap, MessErrorKind.InvalidArgument, $"-{name} has an entry with an empty key or value.", name);
            map[key] = value;
        }
        return map;
    }
}
