using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>A process as Tetragon describes it (<c>process</c> or <c>parent</c>): who ran, in which pod.</summary>
internal struct TetragonProcess
{
    public bool Present;
    public int Pid, Uid;
    public string? Binary, Arguments, ExecId, ParentExecId, Flags;
    public DateTimeOffset? StartTime;
    public bool HasPod, HasContainer, ContainerInit;
    public string? Namespace, PodName, Owner, OwnerKind, Container, ContainerId, ImageName, ImageId;
    public LabelSet PodLabels;

    /// <summary>The pod's Cilium identity labels (<c>labels</c>, <c>k8s:key=value</c>): older exports have no pod_labels.</summary>
    public LabelSet IdentityLabels;
}
