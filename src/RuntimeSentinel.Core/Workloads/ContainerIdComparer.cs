namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// Compares container ids as <see cref="WorkloadResolver.SameContainer"/> does (a full id equals its short form),
/// hashing the short form (<see cref="WorkloadResolver.ShortContainerIdSpan"/>): sensors write one container's id differently (Tetragon <c>containerd://&lt;64 hex&gt;</c>, Falco the 12-character short
/// id, Tracee the bare id), and a container met through a second sensor is no new container. Allocates nothing.
/// </summary>
public sealed class ContainerIdComparer : IEqualityComparer<string>
{
    public static ContainerIdComparer Instance { get; } = new();

    private ContainerIdComparer()
    {
    }

    public bool Equals(string? x, string? y) => WorkloadResolver.SameContainer(x, y);

    public int GetHashCode(string obj) => string.GetHashCode(WorkloadResolver.ShortContainerIdSpan(obj), StringComparison.OrdinalIgnoreCase);
}
