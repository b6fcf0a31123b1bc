namespace RuntimeSentinel.Core.Events;

/// <summary>
/// One producing thread's batched hand-off to detection. Events are collected per shard and handed over a batch at a
/// time, so the consume thread pays one queue write and at most one wake-up per batch instead of per event. Order per
/// workload is kept (one writer, one shard per workload). Nothing pending is committed: an offset completes only after
/// detection processed its event. Not thread-safe: one writer per thread.
/// </summary>
public interface IIngestWriter
{
    /// <summary>Events written but not yet handed over.</summary>
    int Pending { get; }

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp of the oldest pending event's write (0 when none).</summary>
    long PendingSince { get; }

    /// <summary>Adds an event; hands its shard's batch over when full, waiting while that shard is full. False once stopping.</summary>
    ValueTask<bool> WriteAsync(in IngestItem item, CancellationToken cancellationToken);

    /// <summary>Hands over every pending event now (the source has nothing more at the moment, or before a checkpoint or stop).</summary>
    ValueTask<bool> FlushAsync(CancellationToken cancellationToken);
}
