using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// A process's identity within a workload: its container and its pid. The pid alone is none: replicas of a workload
/// reuse pids (a sensor that reports namespace pids, like Tracee's <c>processId</c>, gives every replica's entrypoint
/// pid 1, and host pids repeat across nodes), and two replicas' calls in one trace are an order no process made.
/// The container id is folded into the upper 32 bits by FNV-1a over its short form (the 12 characters docker and
/// crictl show, case-folded: sensors write one container's id differently, <c>containerd://&lt;64 hex&gt;</c> in Tetragon,
/// the short id in Falco), the same on every run and node, so an export keys processes as training did. Two containers
/// of one workload that collide share traces again, a chance of about n² / 2³³ for n containers.
/// </summary>
public static class ProcessKey
{
    /// <summary>The key of the event's process.</summary>
    public static long Of(in RuntimeEvent e) => Of(e.Workload.ContainerId, e.Process.Pid);

    public static long Of(string? containerId, int pid) => Of(ContainerHash(containerId), pid);

    public static long Of(uint containerHash, int pid) => ((long)containerHash << 32) | (uint)pid;

    /// <summary>The pid part of a key (what an alert names).</summary>
    public static int Pid(long key) => (int)key;

    /// <summary>FNV-1a over the short id's UTF-16 code units, case-folded; 0 for no container (a host process).</summary>
    public static uint ContainerHash(string? containerId)
    {
        if (containerId is null)
        {
            return 0;
        }

        var h = 2166136261u;
        foreach (var c in WorkloadResolver.ShortContainerIdSpan(containerId))
        {
            h = (h ^ char.ToLowerInvariant(c)) * 16777619u;
        }

        return h;
    }
}

/// <summary>
/// <see cref="ProcessKey"/>s of one workload's events, remembering the last container id's hash: a workload's events come
/// from a few containers, so most syscalls cost a reference comparison, not a hash of the id.
/// </summary>
internal struct ProcessKeys
{
    private string? _container;
    private uint _hash;

    public long Of(in RuntimeEvent e)
    {
        var id = e.Workload.ContainerId;
        if (!ReferenceEquals(id, _container))
        {
            _hash = ProcessKey.ContainerHash(id);
            _container = id;
        }

        return ProcessKey.Of(_hash, e.Process.Pid);
    }
}
