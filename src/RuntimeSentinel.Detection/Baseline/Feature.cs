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
public sealed class BoundedCounter(int capacity)
{
    private readonly Dictionary<FeatureKey, long> _counts = new();

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

        if (_counts.Count >= Capacity)
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
        if (_counts.Count >= Capacity || !_counts.TryAdd(key, count))
        {
            return false;
        }

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
}
