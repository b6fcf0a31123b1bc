namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// The unit a baseline is learned for: <c>cluster/namespace/ownerKind/ownerName/container</c>. All pods of one
/// Deployment share a key, so a rolling restart does not reset what was learned. Instances are cached by
/// <see cref="WorkloadResolver"/> and compared by value.
/// </summary>
public sealed class WorkloadKey : IEquatable<WorkloadKey>
{
    public WorkloadKey(string cluster, string @namespace, string ownerKind, string ownerName, string container)
    {
        Cluster = cluster;
        Namespace = @namespace;
        OwnerKind = ownerKind;
        OwnerName = ownerName;
        Container = container;
        Owner = $"{cluster}/{@namespace}/{ownerKind}/{ownerName}";
        Value = $"{Owner}/{container}";
        _hash = StringComparer.Ordinal.GetHashCode(Value);
        OwnerHash = StableHash(Owner);
    }

    /// <summary>
    /// FNV-1a over the characters: the same in every process, unlike string hashing (randomised per process), so a
    /// recording's workloads land on the same shards every run and a replay repeats exactly.
    /// </summary>
    private static int StableHash(string s)
    {
        var h = 2166136261u;
        foreach (var c in s)
        {
            h = (h ^ c) * 16777619u;
        }

        return (int)h;
    }

    private readonly int _hash;

    public string Cluster { get; }

    public string Namespace { get; }

    public string OwnerKind { get; }

    public string OwnerName { get; }

    public string Container { get; }

    /// <summary>The owner without the container, e.g. <c>prod/shop/Deployment/cart</c>: what a pod's containers share.</summary>
    public string Owner { get; }

    /// <summary>Stable hash of <see cref="Owner"/>: detection routes by it, so one owner's containers share a shard.</summary>
    public int OwnerHash { get; }

    /// <summary>The full key, e.g. <c>prod/shop/Deployment/cart/cart</c>.</summary>
    public string Value { get; }

    /// <summary>Namespace/owner without cluster and container, the short form analysts use (<c>shop/Deployment/cart</c>).</summary>
    public string ShortName => $"{Namespace}/{OwnerKind}/{OwnerName}";

    public bool Equals(WorkloadKey? other) => ReferenceEquals(this, other) || (other is not null && other._hash == _hash && other.Value == Value);

    public override bool Equals(object? obj) => Equals(obj as WorkloadKey);

    public override int GetHashCode() => _hash;

    public override string ToString() => Value;

    /// <summary>
    /// The key a <see cref="Value"/> names, as control paths (verdicts, model cards, checkpoints) carry it: equal to the
    /// instance the resolver made for the same workload, so a dictionary finds it. False unless it has exactly the five
    /// parts, none with a slash.
    /// </summary>
    public static bool TryParse(string? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WorkloadKey? key)
    {
        key = null;
        var parts = value?.Split('/');
        if (parts is not { Length: 5 })
        {
            return false;
        }

        key = new WorkloadKey(parts[0], parts[1], parts[2], parts[3], parts[4]);
        return true;
    }
}
