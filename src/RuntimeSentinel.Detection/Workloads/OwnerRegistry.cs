using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Detection.Workloads;

/// <summary>How a container new to a workload appeared.</summary>
internal enum AddedContainer : byte
{
    /// <summary>Not added: the workload's first container, or one of an owner nobody watched become active.</summary>
    None,

    /// <summary>
    /// A container name new to an active workload in a pod that already ran others: Kubernetes pods are immutable, so
    /// only an ephemeral container (<c>kubectl debug</c>) gets there.
    /// </summary>
    Ephemeral,

    /// <summary>
    /// A container name new to an active workload in a new pod: an injected or added sidecar, or an init container the
    /// daemon never saw start (it started into a running cluster). It learns, under the catalogue, like a new workload.
    /// </summary>
    NewInNewPod,
}

/// <summary>
/// What one shard knows about the owners of its workloads (a Deployment's pods' containers, which share a shard): the
/// container that first turned active, and the pods seen lately. Single-threaded (the shard's), bounded: owners up to
/// the shard's workload limit, 32 pods each.
/// </summary>
internal sealed class OwnerRegistry(int capacity)
{
    public const int PodsPerOwner = 32;

    private readonly Dictionary<string, Owner> _owners = new(StringComparer.Ordinal);

    public int Count => _owners.Count;

    /// <summary>A workload of the owner turned active (or came back active from a checkpoint).</summary>
    public void Active(WorkloadKey key)
    {
        if (Get(key.Owner) is { } o)
        {
            o.ActiveContainer ??= key.Container;
        }
    }

    /// <summary>An event of the owner came from <paramref name="pod"/>.</summary>
    public void SeenPod(WorkloadKey key, string pod)
    {
        if (Get(key.Owner) is not { } o || !o.PodSet.Add(pod))
        {
            return;
        }

        o.Pods.Enqueue(pod);
        if (o.Pods.Count > PodsPerOwner)
        {
            o.PodSet.Remove(o.Pods.Dequeue());
        }
    }

    /// <summary>How a workload seen for the first time relates to its owner's others (before its first pod is noted).</summary>
    public AddedContainer Classify(WorkloadKey key, string? pod)
    {
        if (!_owners.TryGetValue(key.Owner, out var o) || o.ActiveContainer is not { } active || active == key.Container)
        {
            return AddedContainer.None;
        }

        return pod is not null && o.PodSet.Contains(pod) ? AddedContainer.Ephemeral : AddedContainer.NewInNewPod;
    }

    /// <summary>The container of the owner that turned active first, if any.</summary>
    public string? ActiveContainer(WorkloadKey key) => _owners.TryGetValue(key.Owner, out var o) ? o.ActiveContainer : null;

    private Owner? Get(string owner)
    {
        if (_owners.TryGetValue(owner, out var o))
        {
            return o;
        }

        if (_owners.Count >= capacity)
        {
            return null; // full: owners beyond the limit are not told apart (their new containers learn as new workloads)
        }

        o = new Owner();
        _owners.Add(owner, o);
        return o;
    }

    private sealed class Owner
    {
        public string? ActiveContainer { get; set; }

        public Queue<string> Pods { get; } = new();

        public HashSet<string> PodSet { get; } = new(StringComparer.Ordinal);
    }
}
