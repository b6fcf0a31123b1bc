using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// The dispatcher's event clock when detection shards report clock marks: how far every shard has processed, and the
/// alerts held until then, in event-time order. The dispatcher releases them, stepping through the correlator's
/// deadlines between alerts, so what each incident holds when it is emitted depends on the stream only, never on
/// thread timing. Marks arrive from the shards' threads; everything else runs on the dispatcher's loop.
/// </summary>
internal sealed class EventTimeOrder(int capacity)
{
    private readonly Lock _gate = new();
    // Unbounded as a type, bounded by use: every pass releases the oldest beyond the capacity (Release), whatever the
    // slowest shard's clock says, so after a pass it holds at most the dispatcher's queue capacity.
    private readonly PriorityQueue<Alert, (long Ticks, string Workload, long Arrival)> _pending = new(PendingOrder.Instance);
    private long[] _shardClocks = [];
    private long _arrivals;

    /// <summary>Shard <paramref name="source"/> has processed every event up to <paramref name="eventTime"/> (any thread).</summary>
    public void Advance(int source, DateTimeOffset eventTime)
    {
        lock (_gate)
        {
            if (source >= _shardClocks.Length)
            {
                Array.Resize(ref _shardClocks, Math.Max(source + 1, _shardClocks.Length * 2));
            }

            _shardClocks[source] = Math.Max(_shardClocks[source], eventTime.UtcTicks);
        }
    }

    /// <summary>
    /// The event time every shard has passed (the slowest one's clock mark), or null when no shard reports marks (alerts
    /// published directly, e.g. by tests: their own times drive the clock). Read before the queue is drained, so every
    /// alert of an event up to it is already queued; the fastest shard's time would emit incidents before a slower
    /// shard's related alerts arrived, and which ones would depend on thread scheduling.
    /// </summary>
    public DateTimeOffset? Slowest()
    {
        long slowest = long.MaxValue;
        lock (_gate)
        {
            foreach (var ticks in _shardClocks)
            {
                if (ticks > 0 && ticks < slowest)
                {
                    slowest = ticks;
                }
            }
        }

        return slowest == long.MaxValue ? null : new DateTimeOffset(slowest, TimeSpan.Zero);
    }

    public void Hold(Alert alert) => _pending.Enqueue(alert, (alert.Time.UtcTicks, alert.Workload.Value, _arrivals++));

    /// <summary>
    /// Releases the held alerts up to <paramref name="until"/> in event-time order, stepping through the correlator's
    /// deadlines between them (<paramref name="due"/> at each), as a live dispatcher would have seen them; returns the
    /// clock reached. Beyond the queue's capacity the oldest go regardless: a shard that stalled costs ordering, never
    /// memory. With no limit (a flush, the stop) deadlines are taken only up to the last alert: the flush that follows
    /// emits the rest as open.
    /// </summary>
    public DateTimeOffset Release(DateTimeOffset until, DateTimeOffset now, Func<DateTimeOffset> nextDeadline, Action<DateTimeOffset> due, Action<Alert, DateTimeOffset> correlate)
    {
        var steps = 0;
        while (true)
        {
            var hasAlert = _pending.TryPeek(out var alert, out _) && (alert.Time <= until || _pending.Count > capacity);
            var limit = until != DateTimeOffset.MaxValue ? until : hasAlert ? alert!.Time : now;
            var deadline = nextDeadline();
            if (deadline <= limit && (!hasAlert || deadline <= alert!.Time) && steps++ < 10_000)
            {
                now = deadline > now ? deadline : now;
                due(now);
                continue;
            }

            if (!hasAlert)
            {
                break;
            }

            steps = 0;
            _pending.Dequeue();
            now = alert!.Time > now ? alert.Time : now;
            correlate(alert, now);
        }

        return until != DateTimeOffset.MaxValue && until > now ? until : now;
    }

    private sealed class PendingOrder : IComparer<(long Ticks, string Workload, long Arrival)>
    {
        public static readonly PendingOrder Instance = new();

        // Ties in time are broken by workload (ordinal) and then arrival, which is a workload's own, deterministic order.
        public int Compare((long Ticks, string Workload, long Arrival) x, (long Ticks, string Workload, long Arrival) y)
        {
            var c = x.Ticks.CompareTo(y.Ticks);
            if (c == 0)
            {
                c = string.CompareOrdinal(x.Workload, y.Workload);
            }

            return c != 0 ? c : x.Arrival.CompareTo(y.Arrival);
        }
    }
}
