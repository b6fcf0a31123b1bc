using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Tetragon;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

public class TetragonIdentityTests
{
    private readonly TetragonIdentity _identity = new();

    private static TetragonProcess InPod() => new()
    {
        Present = true,
        HasPod = true,
        Namespace = "shop",
        PodName = "cart-7d9f8b6c5b-x2k4p",
        Owner = "cart",
        ImageId = "ghcr.io/acme/cart@sha256:01",
        ExecId = "ZXhlYw==",
        ParentExecId = "cGFyZW50",
    };

    [Fact]
    public void Workload_ProcessOutsideAnyPod_IsTheNode()
    {
        var host = new TetragonProcess { Present = true };
        Assert.Equal(Json.Host("node-a"), _identity.Workload(ref host, "node-a"));
    }

    [Fact]
    public void Workload_OwnerWithoutKind_IsADeploymentWithTheImageSplitFromItsDigest()
    {
        var p = InPod();
        var w = _identity.Workload(ref p, "node-a");
        Assert.Equal(("Deployment", "cart"), (w.OwnerKind, w.OwnerName));
        Assert.Equal(("ghcr.io/acme/cart", "sha256:01"), (w.Image, w.ImageDigest));
        Assert.Same(LabelSet.Empty, w.Labels);
    }

    [Fact]
    public void Workload_PodAndIdentityLabels_PodLabelsWin()
    {
        var p = InPod();
        p.PodLabels = LabelSet.Of(("app", "cart"));
        p.IdentityLabels = LabelSet.Of(("app", "other"));
        Assert.Same(p.PodLabels, _identity.Workload(ref p, null).Labels);
    }

    [Fact]
    public void Lineage_ExecAndParent_AreLabelledInOrder()
    {
        var p = InPod();
        var labels = _identity.Lineage(ref p, "process_kprobe", "file-monitoring");
        Assert.Equal(
            LabelSet.Of(("source", "tetragon"), ("tetragon.type", "process_kprobe"), ("exec_id", "ZXhlYw=="), ("parent_exec_id", "cGFyZW50"), ("tetragon.policy", "file-monitoring")),
            labels);
    }

    [Fact]
    public void Lineage_ProcFsAndContainerPidOne_AreInventoryAndEntrypoint()
    {
        var p = InPod();
        p.Flags = "procFS auid";
        p.HasContainer = true;
        p.ContainerInit = true;
        var labels = _identity.Lineage(ref p, "process_exec", null);
        Assert.Equal("procfs", labels[EventLabels.Inventory]);
        Assert.Equal("true", labels[EventLabels.ContainerInit]);
    }

    [Fact]
    public void Lineage_SameProcessTwice_IsBuiltOnce()
    {
        var p = InPod();
        Assert.Same(_identity.Lineage(ref p, "process_exec", null), _identity.Lineage(ref p, "process_exec", null));
    }
}
