using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Who sent an event (the pod's workload, or the node for host processes) and its lineage labels, from values that
/// repeat in every event of a process: built once and cached, each cache bounded in entries and in key length.
/// </summary>
internal sealed partial class TetragonFormat
{
    // Lineage labels and image splits repeat per process and per image: built once, bounded.
    private readonly Dictionary<(string Type, string? ExecId, string? ParentExecId, string? Policy, bool Inventory, bool Init), LabelSet> _lineage = new();
    private readonly Dictionary<string, (string? Image, string? Digest)> _images = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _syscallNames = new(StringComparer.Ordinal);

    // Keys longer than this are not cached: the caches' memory stays bounded by count × this, whatever messages hold.
    private const int MaxCachedKey = 512;

    private string CachedSyscallName(string function)
    {
        if (function.Length > MaxCachedKey)
        {
            return SyscallName(function); // hostile lengths are never kept
        }

        if (!_syscallNames.TryGetValue(function, out var name))
        {
            if (_syscallNames.Count >= 1024)
            {
                _syscallNames.Clear();
            }

            _syscallNames[function] = name = SyscallName(function);
        }

        return name;
    }

    private WorkloadRef Identity(ref Proc process, string? node)
    {
        if (!process.HasPod)
        {
            return Json.Host(node);
        }

        var (image, digest) = SplitImage(process.ImageId);
        var owner = process.Owner;
        return new WorkloadRef(
            null, process.Namespace, process.PodName, process.Container, process.ContainerId, process.ImageName ?? image, digest,
            owner is null ? null : process.OwnerKind ?? "Deployment", owner, process.PodLabels ?? LabelSet.Empty);
    }

    private (string? Image, string? Digest) SplitImage(string? imageId)
    {
        if (imageId is null)
        {
            return (null, null);
        }

        if (imageId.Length > MaxCachedKey)
        {
            return Json.SplitDigest(imageId);
        }

        if (!_images.TryGetValue(imageId, out var split))
        {
            if (_images.Count >= 1024)
            {
                _images.Clear(); // bounded: a flood of unique images costs a split each, never memory
            }

            _images[imageId] = split = Json.SplitDigest(imageId);
        }

        return split;
    }

    private LabelSet Lineage(ref Proc process, string type, string? policy)
    {
        // Processes found running when the sensor started: their start time is no event time (docs/formats.md).
        var inventory = process.Flags is { } procFlags && procFlags.Contains("procFS", StringComparison.Ordinal);

        // PID 1 of the container's namespace is its entrypoint: when it exits, the container stops (docs/formats.md).
        var init = process.HasPod && process.HasContainer && process.ContainerInit;
        var key = (type, process.ExecId, process.ParentExecId, policy, inventory, init);
        var cacheable = (process.ExecId?.Length ?? 0) + (process.ParentExecId?.Length ?? 0) + (policy?.Length ?? 0) <= MaxCachedKey;
        if (cacheable && _lineage.TryGetValue(key, out var labels))
        {
            return labels;
        }

        var items = new List<KeyValuePair<string, string>> { KeyValuePair.Create("source", "tetragon"), KeyValuePair.Create("tetragon.type", type) };
        if (process.ExecId is { } id)
        {
            items.Add(KeyValuePair.Create("exec_id", id));
        }

        if (inventory)
        {
            items.Add(KeyValuePair.Create(InventoryLabel, "procfs"));
        }

        if (init)
        {
            items.Add(KeyValuePair.Create(EventLabels.ContainerInit, "true"));
        }

        if (process.ParentExecId is { } pid)
        {
            items.Add(KeyValuePair.Create("parent_exec_id", pid));
        }

        if (policy is not null)
        {
            items.Add(KeyValuePair.Create("tetragon.policy", policy));
        }

        labels = new LabelSet([.. items]);
        if (!cacheable)
        {
            return labels;
        }

        if (_lineage.Count >= 4096)
        {
            _lineage.Clear(); // bounded: processes come and go
        }

        return _lineage[key] = labels;
    }
}
