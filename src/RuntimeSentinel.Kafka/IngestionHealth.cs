namespace RuntimeSentinel.Kafka;

/// <summary>Liveness and readiness of ingestion, read by /healthz and /readyz.</summary>
public sealed class IngestionHealth(TimeProvider time, KafkaMetrics metrics)
{
    private long _lastLoopTicks;
    private bool _faulted;
    private bool _joined;

    public bool Started { get; internal set; }

    public bool Faulted
    {
        get => _faulted;
        internal set
        {
            _faulted = value;
            metrics.Ready.Set(IsReady ? 1 : 0);
        }
    }

    public string? FaultReason { get; internal set; }

    /// <summary>Partitions currently assigned; ready means the consumer joined its group and owns some.</summary>
    public int AssignedPartitions { get; internal set; }

    public bool JoinedGroup
    {
        get => _joined;
        internal set
        {
            _joined = value;
            metrics.Ready.Set(IsReady ? 1 : 0);
        }
    }

    internal void Beat()
    {
        var now = time.GetUtcNow();
        Interlocked.Exchange(ref _lastLoopTicks, now.UtcTicks);
        metrics.LastLoop.Set(now.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Time since the consume loop last went round (a stuck loop means a stuck pipeline).</summary>
    public TimeSpan SinceLastLoop => Started ? time.GetUtcNow() - new DateTimeOffset(Interlocked.Read(ref _lastLoopTicks), TimeSpan.Zero) : TimeSpan.Zero;

    public bool IsLive => !Faulted && SinceLastLoop < TimeSpan.FromSeconds(60);

    public bool IsReady => Started && !Faulted && JoinedGroup && _blocked.Count == 0;

    private volatile IReadOnlyList<string> _blocked = [];

    /// <summary>Partitions paused because their dead letters cannot be written (not ready: the node is not consuming them).</summary>
    public IReadOnlyList<string> BlockedPartitions => _blocked;

    public string? BlockedReason { get; private set; }

    internal void SetBlocked(IReadOnlyList<string> partitions, string? reason)
    {
        _blocked = partitions;
        if (reason is not null || partitions.Count == 0)
        {
            BlockedReason = partitions.Count == 0 ? null : reason;
        }

        metrics.Ready.Set(IsReady ? 1 : 0);
    }
}
