namespace RuntimeSentinel.Detection.Models;

/// <summary>What the memory budget had to refuse (label values of <c>sentinel_model_memory_refusals_total</c>).</summary>
public enum MemoryRefusal
{
    /// <summary>Learning data (behaviour windows, syscalls, shadow scores) not collected: the workload trains on less.</summary>
    Training,

    /// <summary>Per-executable sequence tables dropped: the workload's own table scores every process.</summary>
    ExecutableSequences,

    /// <summary>Sequence tables dropped altogether: behaviour and spike detectors still run.</summary>
    Sequences,

    /// <summary>A model not put in service at all: only the novelty baseline runs for the workload.</summary>
    Model,

    /// <summary>A new process's syscall stream not tracked: its calls go unscored by the sequence model.</summary>
    ProcessStreams,

    /// <summary>A new item not learned by a baseline: the node's budget (<c>Detection:MemoryBudgetMiB</c>) is spent.</summary>
    BaselineItems,

    /// <summary>A model's drift histogram not kept: its workload's drift is unknown.</summary>
    Drift,
}

/// <summary>
/// One memory budget for the model side of every workload on the node, shared by the detection shards. Per-workload
/// structures are bounded one by one, but a node with thousands of workloads would still multiply them past the
/// pod's memory limit; this is the cap on the product. Reservations are estimates of what the structures hold
/// (measured against the GC), taken in chunks so the hot path adds and compares a number most of the time.
/// </summary>
public sealed class ModelMemoryBudget : Core.Workloads.IMemoryBudget
{
    private readonly long[] _refusals = new long[Enum.GetValues<MemoryRefusal>().Length];
    private readonly ModelMemoryBudget? _parent;
    private long _used;

    /// <param name="parent">A wider budget this one is a share of (the node's): a reservation must fit in both.</param>
    public ModelMemoryBudget(long limitBytes, ModelMemoryBudget? parent = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        Limit = limitBytes;
        _parent = parent;
    }

    /// <summary>No limit: offline training and scoring, where one workload is handled at a time.</summary>
    public static ModelMemoryBudget Unlimited() => new(long.MaxValue);

    public long Limit { get; }

    public long Used => Volatile.Read(ref _used);

    public bool TryReserve(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_parent is not null && !_parent.TryReserve(bytes))
        {
            return false;
        }

        if (TryReserveHere(bytes))
        {
            return true;
        }

        _parent?.Release(bytes);
        return false;
    }

    private bool TryReserveHere(long bytes)
    {
        var used = Volatile.Read(ref _used);
        while (true)
        {
            if (bytes > Limit - used)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _used, used + bytes, used);
            if (seen == used)
            {
                return true;
            }

            used = seen;
        }
    }

    public void Release(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var left = Interlocked.Add(ref _used, -bytes);
        if (left < 0)
        {
            throw new InvalidOperationException($"released {bytes} bytes more than reserved (now {left})");
        }

        _parent?.Release(bytes);
    }

    public void Refused(MemoryRefusal what) => Interlocked.Increment(ref _refusals[(int)what]);

    public long Refusals(MemoryRefusal what) => Volatile.Read(ref _refusals[(int)what]);
}

/// <summary>Label values of <see cref="MemoryRefusal"/>.</summary>
internal static class MemoryRefusalNames
{
    public static string ToWire(this MemoryRefusal r) => r switch
    {
        MemoryRefusal.Training => "training",
        MemoryRefusal.ExecutableSequences => "executable_sequences",
        MemoryRefusal.Sequences => "sequences",
        MemoryRefusal.Model => "model",
        MemoryRefusal.ProcessStreams => "process_streams",
        MemoryRefusal.BaselineItems => "baseline_items",
        MemoryRefusal.Drift => "drift",
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, null),
    };
}
