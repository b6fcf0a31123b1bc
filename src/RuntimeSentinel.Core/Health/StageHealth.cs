namespace RuntimeSentinel.Core.Health;

/// <summary>What a supervised loop is doing.</summary>
public enum StageState : byte
{
    /// <summary>Registered; its loop has not started yet.</summary>
    Starting,

    Running,

    /// <summary>Running, but not doing all of its job (a paused partition, a sink that spills); reported, not fatal.</summary>
    Degraded,

    /// <summary>Stopped because the host is stopping.</summary>
    Stopped,

    /// <summary>The loop ended on an error it could not handle: the process must be restarted.</summary>
    Faulted,
}

/// <summary>
/// The health of one long-running loop (the consume loop, a detection shard, the alert dispatcher, a sink
/// pipeline, the feedback consumer, the model watcher). Each loop catches what one item can throw, counts it here
/// and goes on; a loop that ends any other way than by the host stopping marks itself faulted, and /healthz then
/// reports the process unhealthy so Kubernetes restarts it instead of letting it drop alerts quietly.
/// Thread-safe: loops write, the HTTP endpoints and metrics read.
/// </summary>
public sealed class StageHealth
{
    private readonly HealthRegistry _owner;
    private long _failures;
    private volatile string? _reason;
    private volatile int _state;

    internal StageHealth(HealthRegistry owner, string name)
    {
        _owner = owner;
        Name = name;
    }

    public string Name { get; }

    public StageState State => (StageState)_state;

    /// <summary>Why the stage is degraded or faulted, or what its last item failure was.</summary>
    public string? Reason => _reason;

    /// <summary>Items (messages, alerts, batches, scans) whose handling failed and was skipped or retried.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    public void Running() => Set(StageState.Running, null);

    public void Degraded(string reason) => Set(StageState.Degraded, reason);

    public void Stopped() => Set(StageState.Stopped, _reason);

    public void Faulted(string reason) => Set(StageState.Faulted, reason);

    /// <summary>One item failed; the loop goes on.</summary>
    public void ItemFailed(string reason)
    {
        Interlocked.Increment(ref _failures);
        _reason = reason.Length > 300 ? reason[..300] + "…" : reason;
        _owner.Notify(this);
    }

    private void Set(StageState state, string? reason)
    {
        // A fault is final: a loop that died does not come back by itself, and a later "stopped" must not hide it.
        if (State == StageState.Faulted)
        {
            return;
        }

        _reason = reason;
        _state = (int)state;
        _owner.Notify(this);
    }
}

/// <summary>Every supervised loop of the process, for /healthz, /readyz and the <c>sentinel_stage_*</c> metrics.</summary>
public sealed class HealthRegistry
{
    private readonly Lock _gate = new();
    private readonly List<StageHealth> _stages = [];

    /// <summary>Raised after a stage changes state or counts a failure (metrics follow it).</summary>
    public event Action<StageHealth>? Changed;

    public IReadOnlyList<StageHealth> Stages
    {
        get
        {
            lock (_gate)
            {
                return [.. _stages];
            }
        }
    }

    /// <summary>The stage of that name, registered on first use (names are a bounded set: metric labels).</summary>
    public StageHealth Register(string name)
    {
        lock (_gate)
        {
            var existing = _stages.Find(s => s.Name == name);
            if (existing is not null)
            {
                return existing;
            }

            var stage = new StageHealth(this, name);
            _stages.Add(stage);
            Changed?.Invoke(stage);
            return stage;
        }
    }

    /// <summary>Stages that ended on an error: any one makes the process unhealthy.</summary>
    public IEnumerable<StageHealth> Faulted => Stages.Where(s => s.State == StageState.Faulted);

    /// <summary>Stages that run but do not do all of their job: reported by /readyz.</summary>
    public IEnumerable<StageHealth> Degraded => Stages.Where(s => s.State == StageState.Degraded);

    internal void Notify(StageHealth stage) => Changed?.Invoke(stage);
}
