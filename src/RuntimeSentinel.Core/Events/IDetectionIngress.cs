namespace RuntimeSentinel.Core.Events;

/// <summary>
/// What ingestion sees of detection: where enriched events go, and the hooks it needs to commit only what is safe
/// (checkpoints written, alerts delivered or on disk). Detection's own lifetime (start, final drain) is its hosted
/// service's; ingestion only says when it will send no more.
/// </summary>
public interface IDetectionIngress
{
    /// <summary>How often ingestion runs a checkpoint round (note positions, checkpoint, then allow commits up to them).</summary>
    TimeSpan CheckpointInterval { get; }

    /// <summary>Events whose alerts are not yet delivered or on disk: their offsets wait.</summary>
    long EventsAwaitingAlerts { get; }

    /// <summary>Hands an event to its workload's shard, waiting while that shard is full (backpressure). False once stopping.</summary>
    ValueTask<bool> EnqueueAsync(in IngestItem item, CancellationToken cancellationToken);

    /// <summary>A batching writer for one thread that produces many events (the consume loop); see <see cref="IIngestWriter"/>.</summary>
    IIngestWriter CreateWriter();

    /// <summary>
    /// Ingestion runs the checkpoint rounds itself (so it commits only what a written checkpoint covers): detection keeps
    /// no checkpoint timer of its own.
    /// </summary>
    void DriveCheckpoints();

    /// <summary>Checkpoints every changed workload and waits until the store has them; false when not within the timeout.</summary>
    Task<bool> CheckpointAsync(TimeSpan timeout);

    /// <summary>No more events will come: waits until every queued one is processed and the checkpoints are flushed.</summary>
    Task CompleteAsync();
}
