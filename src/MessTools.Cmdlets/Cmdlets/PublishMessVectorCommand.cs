using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Common;
using MessTools.Core.Database;
using MessTools.Core.Jobs;
using MessTools.Core.VectorStore;

namespace MessTools.Cmdlets;

/// <summary>
/// Publish-MessVector: every track of the artifact folder (embeddings and catalogue metadata) into a PostgreSQL table
/// with pgvector, with an HNSW index (vector_cosine_ops), so Find-MessNeighbor -ConnectionString and the HTTP server can
/// query it. Incremental: only new and changed rows are written and removed tracks are deleted, in batches of one
/// transaction each; a second run changes nothing; a run that was stopped is finished by the next one.
/// </summary>
[Cmdlet(VerbsData.Publish, "MessVector", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/vector-store.md")]
[OutputType(typeof(VectorPublishResult))]
public sealed class PublishMessVectorCommand : MessCmdlet
{
    /// <summary>A PostgreSQL connection string (key=value or postgres:// URI); default $env:MESS_VECTOR_CONNECTION.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ConnectionString { get; set; }

    /// <summary>User name and password for the server, instead of putting them in the connection string.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>The table ([schema.]table); created if missing.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Table { get; set; } = VectorTable.DefaultTable;

    /// <summary>HNSW graph degree (pgvector m).</summary>
    [Parameter]
    [ValidateRange(2, 100)]
    public int M { get; set; } = 16;

    /// <summary>HNSW build candidate list (pgvector ef_construction), at least 2 x M.</summary>
    [Parameter]
    [ValidateRange(4, 1000)]
    public int EfConstruction { get; set; } = 64;

    /// <summary>Rows per INSERT statement and per transaction.</summary>
    [Parameter]
    [ValidateRange(1, VectorPublishOptions.MaxBatchSize)]
    public int BatchSize { get; set; } = 500;

    protected override void ProcessRecord()
    {
        VectorTable table;
        try
        {
            string cs = PostgresConnection.Resolve(ConnectionString, VectorTable.ConnectionEnvironmentVariable, "NoVectorStore",
                "Name the vector database: -ConnectionString '<Host=...;Database=...>'");
            table = VectorTable.Create(cs, Table, Credential?.UserName, Credential?.GetNetworkCredential().Password);
        }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        using (table)
        {
            VectorPublishResult? result;
            try
            {
                result = PublishVectorJob.Run(Store, table, new VectorPublishOptions { Table = Table, M = M, EfConstruction = EfConstruction, BatchSize = BatchSize }, JobHost);
            }
            catch (MessException ex) { ThrowTerminating(ex); return; }
            catch (OperationCanceledException) { return; }
            finally { CompleteProgress(1, PublishVectorJob.Activity); }
            if (result is not null) WriteObject(result);
        }
    }
}
