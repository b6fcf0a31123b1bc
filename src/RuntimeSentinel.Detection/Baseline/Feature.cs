namespace RuntimeSentinel.Detection.Baseline;

/// <summary>The behaviour dimensions a workload baseline learns. Names are metric label values.</summary>
public enum Feature : byte
{
    Exec,
    Lineage,
    Syscall,
    File,
    Endpoint,
    Dns,
    ListenPort,

    /// <summary>
    /// Rates and volumes against the workload's own figures: resource_anomaly, run_anomaly, peer_volume, peer_rate,
    /// failed_sessions, off_hours_activity, container_added (the category and the item's prefix, <c>run:</c>,
    /// <c>peer:</c>, <c>rate:</c>, <c>sessions:</c>, <c>activity:</c>, <c>ephemeral:</c>, tell them apart).
    /// </summary>
    /// <remarks>
    /// Not split into a member per signal: the wire name <c>resource</c> is in every such alert's
    /// <c>explanation.feature</c> and fingerprint, a feedback verdict names it to accept all of them at once, the
    /// <c>feature</c> metric label counts it, and checkpoints store cooldowns by this member's number. Members that
    /// all wrote <c>resource</c> would make the name ambiguous to read back (verdicts, metrics); members with names of
    /// their own would change fingerprints and the checkpoint format. The category already says which signal it is.
    /// </remarks>
    Resource,

    /// <summary>Rules a sensor fired for the workload (sensor_alert events).</summary>
    SensorRule,
}

/// <summary>
/// One learned item. A struct of references instead of a concatenated string so that looking an event's
/// behaviour up in the baseline allocates nothing.
/// </summary>
public readonly record struct FeatureKey(string A, string? B = null, int N = -1)
{
    public override string ToString() => (B, N) switch
    {
        (null, < 0) => A,
        (null, _) => $"{A}:{N}",
        (_, < 0) => $"{A} <- {B}",
        _ => $"{A}:{N}/{B}",
    };
}

public static class FeatureNames
{
    private static readonly string[] Names = ["exec", "lineage", "syscall", "file", "endpoint", "dns", "listen_port", "resource", "sensor_rule"];

    public static string ToWire(this Feature f) => Names[(int)f];

    public static IReadOnlyList<string> All => Names;
}

/// <summary>
/// Counts of the items of one feature, capped at a fixed number of distinct items. Once full, new items are not
/// learned and <see cref="Overflow"/> counts them: memory per workload stays bounded however many unique paths
/// an attacker (or a noisy app) produces.
/// </summary>
public sealed class BoundedCounter(int capacity, Models.ModelMemoryBudget? memory = null)
{
    private readonly Dictionary<FeatureKey, long> _counts = new();
    private readonly TableReservation _memory = new(memory);

    /// <summary>What a learned item costs: the dictionary entry (key of two references and an int, count, hash, next) and its strings.</summary>
    public static long ItemBytes(in FeatureKey key) => 64 + (2L * (key.A.Length + (key.B?.Length ?? 0)));

    /// <summary>Bytes reserved from the node's memory budget for the items held.</summary>
    public long ReservedBytes => _memory.Bytes;

    /// <summary>Items not learned because the node's memory budget was spent (part of <see cref="Overflow"/>).</summary>
    public long MemoryRefused { get; private set; }

    /// <summary>Gives the items' memory back to the node's budget (the counter is being dropped).</summary>
    public void ReleaseMemory() => _memory.ReleaseAll();

    public int Capacity { get; } = capacity;

    public int Count => _counts.Count;

    public long Total { get; private set; }

    public long Overflow { get; private set; }

    public bool Saturated => Overflow > 0;

    /// <summary>Returns 1 if a new item was added, 0 if an existing one was counted, -1 if the cap refused it.</summary>
    public int Add(in FeatureKey key)
    {
        Total++;
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_counts, key);
        if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot))
        {
            slot++;
            return 0;
        }

        if (_counts.Count >= Capacity || !Reserve(key))
        {
            Overflow++;
            return -1;
        }

        _counts.Add(key, 1);
        return 1;
    }

    public long CountOf(in FeatureKey key) => _counts.TryGetValue(key, out var c) ? c : 0;

    /// <summary>Puts back a checkpointed item; false when it is already there or the cap is reached.</summary>
    internal bool Restore(in FeatureKey key, long count)
    {
        if (_counts.Count >= Capacity || _counts.ContainsKey(key))
        {
            return false;
        }

        if (!Reserve(key))
        {
            // The node's budget is spent: the workload comes back with fewer items rather than not at all.
            Overflow++;
            return true;
        }

        _counts.Add(key, count);

        Total += count;
        return true;
    }

    /// <summary>Puts back the checkpointed totals (at least the restored items' counts).</summary>
    internal void RestoreTotals(long total, long overflow)
    {
        Total = total;
        Overflow = overflow;
    }

    public IEnumerable<KeyValuePair<FeatureKey, long>> Items => _counts;

    private bool Reserve(in FeatureKey key)
    {
        if (_memory.TryTake(ItemBytes(key)))
        {
            return true;
        }

        MemoryRefused++;
        return false;
    }
}

/// <summary>The checkpoint form of a <see cref="FeatureKey"/>.</summary>
internal static class FeatureKeyState
{
    public static void Write(Workloads.StateWriter w, in FeatureKey key)
    {
        w.String(key.A);
        w.NullableString(key.B);
        w.Int(key.N);
    }

    public static FeatureKey Read(Workloads.StateReader r) => new(r.String("item"), r.NullableString("item"), r.Int());
}
