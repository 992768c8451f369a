using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Common;
using MessTools.Core.Database;
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
            if (!ShouldProcess(table.Description, $"Publish the embeddings of '{Store.Root}'")) return;
            const string activity = "Publish-MessVector";
            VectorPublishResult result;
            try
            {
                result = VectorPublisher.Publish(Store, table, new VectorPublishOptions { Table = Table, M = M, EfConstruction = EfConstruction, BatchSize = BatchSize },
                    p => ReportProgress(1, activity, $"{p.Phase}: {p.Done:N0} of {p.Total:N0} ({p.Written:N0} written)",
                        p.Total > 0 ? (int)(100 * p.Done / p.Total) : -1, force: p.Done == p.Total),
                    WriteVerbose, Cancellation);
            }
            catch (MessException ex) { ThrowTerminating(ex); return; }
            catch (OperationCanceledException) { return; }
            CompleteProgress(1, activity);
            Run.Count("tracks", result.Tracks);
            Run.Count("inserted", result.Inserted);
            Run.Count("updated", result.Updated);
            Run.Count("deleted", result.Deleted);
            Run.Count("unchanged", result.Unchanged);
            Run.Results["table"] = result.Table;
            Run.Results["server"] = result.Server;
            Run.Results["model"] = result.Model;
            Run.Results["embeddings_sha256"] = result.EmbeddingsSha256;
            Run.Results["index_built"] = result.IndexBuilt;
            WriteObject(result);
        }
    }
}
