using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// Who sent an event (the pod's workload, or the node for host processes) and its process's lineage labels
/// (exec_id, parent_exec_id, inventory, container entrypoint), from values that repeat in every event of a process:
/// built once and cached, each cache bounded in entries and in key length. Not thread-safe (one per decoder).
/// </summary>
internal sealed class TetragonIdentity
{
    // Lineage labels and image splits repeat per process and per image: built once, bounded.
    private readonly BoundedCache<(string Type, string? ExecId, string? ParentExecId, string? Policy, bool Inventory, bool Init), LabelSet> _lineage = new(4096);
    private readonly BoundedCache<string, (string? Image, string? Digest)> _images = new(1024, StringComparer.Ordinal);

    /// <summary>The pod's workload (its owner, Deployment when unnamed), or the node for a process outside any pod.</summary>
    public WorkloadRef Workload(ref TetragonProcess process, string? node)
    {
        if (!process.HasPod)
        {
            return Json.Host(node);
        }

        var (image, digest) = SplitImage(process.ImageId);
        var owner = process.Owner;
        return new WorkloadRef(
            null, process.Namespace, process.PodName, process.Container, process.ContainerId, process.ImageName ?? image, digest,
            owner is null ? null : process.OwnerKind ?? "Deployment", owner, process.PodLabels ?? process.IdentityLabels ?? LabelSet.Empty);
    }

    private (string? Image, string? Digest) SplitImage(string? imageId) =>
        imageId is null ? (null, null) : _images.GetOrAdd(imageId, imageId.Length, 0, static (id, _) => Json.SplitDigest(id));

    /// <summary>The labels that place an event in its process's lineage, for an event of <paramref name="type"/> matched by <paramref name="policy"/>.</summary>
    public LabelSet Lineage(ref TetragonProcess process, string type, string? policy)
    {
        // Processes found running when the sensor started: their start time is no event time (docs/formats.md).
        var inventory = process.Flags is { } procFlags && procFlags.Contains("procFS", StringComparison.Ordinal);

        // PID 1 of the container's namespace is its entrypoint: when it exits, the container stops (docs/formats.md).
        var init = process.HasPod && process.HasContainer && process.ContainerInit;
        var key = (type, process.ExecId, process.ParentExecId, policy, inventory, init);
        return _lineage.GetOrAdd(key, (process.ExecId?.Length ?? 0) + (process.ParentExecId?.Length ?? 0) + (policy?.Length ?? 0), 0, BuildLineage);
    }

    private static LabelSet BuildLineage((string Type, string? ExecId, string? ParentExecId, string? Policy, bool Inventory, bool Init) key, int unused)
    {
        var items = new List<KeyValuePair<string, string>> { KeyValuePair.Create("source", "tetragon"), KeyValuePair.Create("tetragon.type", key.Type) };
        if (key.ExecId is { } id)
        {
            items.Add(KeyValuePair.Create("exec_id", id));
        }

        if (key.Inventory)
        {
            items.Add(KeyValuePair.Create(EventLabels.Inventory, "procfs"));
        }

        if (key.Init)
        {
            items.Add(KeyValuePair.Create(EventLabels.ContainerInit, "true"));
        }

        if (key.ParentExecId is { } pid)
        {
            items.Add(KeyValuePair.Create("parent_exec_id", pid));
        }

        if (key.Policy is not null)
        {
            items.Add(KeyValuePair.Create("tetragon.policy", key.Policy));
        }

        return new LabelSet([.. items]);
    }
}
