using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// One ordered stream's way into the shards (<see cref="IIngestWriter"/>): fills a batch per shard and hands it over
/// when full or flushed, so a hand-over costs one queue write per batch, not per event. On the event clock it also
/// adds clock marks to every shard's batch as the input's time passes each step. Used by one thread at a time.
/// </summary>
internal sealed class ShardWriter(Shard[] shards, DetectionOptions options) : IIngestWriter
{
    /// <summary>Event time between two clock marks (see <see cref="IngestItem.ClockMark"/>).</summary>
    public static readonly TimeSpan ClockMarkStep = TimeSpan.FromMilliseconds(250);

    private readonly IngestBatch?[] _open = new IngestBatch?[shards.Length];

    // On the event clock: the input's time (trusted as the shards trust theirs) and the next mark due.
    private readonly EventWatermark? _input = options.UseEventTime ? new EventWatermark(options.EventTimeMaxLead) : null;
    private DateTimeOffset _nextMark;

    public int Pending { get; private set; }

    public long PendingSince { get; private set; }

    public ValueTask<bool> WriteAsync(in IngestItem item, CancellationToken cancellationToken)
    {
        var index = Shard.IndexOf(item.Key.OwnerHash, shards.Length);
        var shard = shards[index];
        var batch = _open[index] ??= shard.Rent();
        batch.Add(item);
        if (Pending++ == 0)
        {
            PendingSince = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        if (_input is not null && Mark(item.Event))
        {
            // A mark went into every shard's open batch: hand over those that filled up (all of them, simply).
            return _open.Any(b => b is { Full: true }) ? FlushFrom(0, true, cancellationToken) : ValueTask.FromResult(true);
        }

        if (!batch.Full)
        {
            return ValueTask.FromResult(true);
        }

        return shard.SendAsync(Take(index)!, cancellationToken);
    }

    /// <summary>Adds a clock mark to every shard's open batch when the input's time passed the next step.</summary>
    private bool Mark(in RuntimeEvent e)
    {
        var now = _input!.Observe(e.Timestamp, e.Labels[EventLabels.Inventory] is not null, out _);
        if (now == default || now < _nextMark)
        {
            return false;
        }

        // Marks fall on whole steps, so two runs of one recording mark the same times.
        var mark = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % ClockMarkStep.Ticks), TimeSpan.Zero);
        _nextMark = mark + ClockMarkStep;
        for (var i = 0; i < _open.Length; i++)
        {
            var batch = _open[i] ??= shards[i].Rent();
            batch.Add(IngestItem.ClockMark(mark)); // fits: a batch holds one item beyond its size
            if (Pending++ == 0)
            {
                PendingSince = System.Diagnostics.Stopwatch.GetTimestamp();
            }
        }

        return true;
    }

    public ValueTask<bool> FlushAsync(CancellationToken cancellationToken) => FlushFrom(0, true, cancellationToken);

    /// <summary>Hands over the open batches of shards <paramref name="first"/> on; synchronous unless a shard is full.</summary>
    private ValueTask<bool> FlushFrom(int first, bool accepted, CancellationToken cancellationToken)
    {
        for (var i = first; i < _open.Length; i++)
        {
            if (Take(i) is not { } batch)
            {
                continue;
            }

            var send = shards[i].SendAsync(batch, cancellationToken);
            if (!send.IsCompletedSuccessfully)
            {
                return WaitThenFlushFrom(send, i + 1, accepted, cancellationToken);
            }

            accepted &= send.Result;
        }

        return ValueTask.FromResult(accepted);
    }

    private async ValueTask<bool> WaitThenFlushFrom(ValueTask<bool> send, int next, bool accepted, CancellationToken cancellationToken)
    {
        accepted &= await send.ConfigureAwait(false);
        return await FlushFrom(next, accepted, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes shard <paramref name="index"/>'s open batch, if any, out of the pending count.</summary>
    private IngestBatch? Take(int index)
    {
        var batch = _open[index];
        if (batch is null)
        {
            return null;
        }

        _open[index] = null;
        Pending -= batch.Count;
        if (Pending == 0)
        {
            PendingSince = 0;
        }

        return batch;
    }
}
