using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Tetragon;
using static RuntimeSentinel.Formats.Tests.Tetragon.TetragonJson;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

public class TetragonPodLabelsTests
{
    private readonly TetragonPodLabels _labels = new(new TetragonValues());

    private LabelSet Pod(string json, LabelSet? before = null)
    {
        var bytes = U(json);
        var reader = At(bytes);
        var labels = before!;
        _labels.ReadPodLabels(ref reader, bytes, ref labels);
        return labels;
    }

    private LabelSet Identity(string json)
    {
        var bytes = U(json);
        var reader = At(bytes);
        LabelSet labels = null!;
        _labels.ReadIdentityLabels(ref reader, bytes, ref labels);
        return labels;
    }

    [Fact]
    public void ReadPodLabels_NonStringValues_AreKeptAsTheirJsonText()
    {
        var labels = Pod("""{"app":"cart","replicas":3,"canary":true}""");
        Assert.Equal("cart", labels["app"]);
        Assert.Equal("3", labels["replicas"]);
        Assert.Equal("true", labels["canary"]);
    }

    [Fact]
    public void ReadPodLabels_SameBytesTwice_ParsesOnce()
    {
        Assert.Same(Pod("""{"app":"cart"}"""), Pod("""{"app":"cart"}"""));
    }

    [Fact]
    public void ReadPodLabels_NotAnObject_LeavesTheLabelsAsTheyWere()
    {
        var before = LabelSet.Of(("app", "cart"));
        Assert.Same(before, Pod("\"app=cart\"", before));
    }

    [Fact]
    public void ReadPodLabels_EmptyObject_IsEmpty()
    {
        Assert.Same(LabelSet.Empty, Pod("{}"));
    }

    [Fact]
    public void ReadIdentityLabels_CiliumList_KeepsOnlyThePodsOwnK8sLabels()
    {
        var labels = Identity("""["k8s:app=deathstar","k8s:io.cilium.k8s.policy.cluster=default","k8s:io.kubernetes.pod.namespace=default","reserved:host","k8s:class=empire"]""");
        Assert.Equal(LabelSet.Of(("app", "deathstar"), ("class", "empire")), labels);
    }

    [Fact]
    public void ReadIdentityLabels_MoreThan64_KeepsTheFirst64()
    {
        var json = "[" + string.Join(",", Enumerable.Range(0, 70).Select(i => $"\"k8s:l{i}=v\"")) + "]";
        Assert.Equal(64, Identity(json).Count);
    }
}
