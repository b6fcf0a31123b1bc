using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Core.Tests;

public class WorkloadResolverTests
{
    private static WorkloadRef Ref(string? ns = "shop", string? pod = null, string? ownerKind = null, string? ownerName = null, string? image = null, string? id = null, string? container = "app", string? cluster = null, LabelSet? labels = null) =>
        new(cluster, ns, pod, container, id, image, null, ownerKind, ownerName, labels ?? LabelSet.Empty);

    [Fact]
    public void Compute_ReplicaSetOwner_StripsTemplateHashToDeployment()
    {
        var key = WorkloadResolver.Compute(Ref(pod: "cart-7d9f8b6c5b-x2k4p", ownerKind: "ReplicaSet", ownerName: "cart-7d9f8b6c5b"), "prod");
        Assert.Equal("prod/shop/Deployment/cart/app", key.Value);
        Assert.Equal("shop/Deployment/cart", key.ShortName);
    }

    [Fact]
    public void Compute_ReplicaSetWithTemplateHashLabel_UsesTheLabel()
    {
        var labels = LabelSet.Of(("pod-template-hash", "abc"));
        var key = WorkloadResolver.Compute(Ref(ownerKind: "ReplicaSet", ownerName: "web-abc", labels: labels), "c");
        Assert.Equal("c/shop/Deployment/web/app", key.Value);
    }

    [Fact]
    public void Compute_ReplicaSetWithoutHashSuffix_StaysReplicaSet()
    {
        var key = WorkloadResolver.Compute(Ref(ownerKind: "ReplicaSet", ownerName: "hand-made"), "c");
        Assert.Equal("c/shop/ReplicaSet/hand-made/app", key.Value);
    }

    [Fact]
    public void Compute_CronJobCreatedJob_RollsUpToCronJob()
    {
        var key = WorkloadResolver.Compute(Ref(ownerKind: "Job", ownerName: "report-builder-29412345"), "c");
        Assert.Equal("c/shop/CronJob/report-builder/app", key.Value);
    }

    [Fact]
    public void Compute_StatefulSetOwner_IsKeptAsIs()
    {
        var key = WorkloadResolver.Compute(Ref(pod: "db-0", ownerKind: "StatefulSet", ownerName: "db"), "c");
        Assert.Equal("c/shop/StatefulSet/db/app", key.Value);
    }

    [Fact]
    public void Compute_DeploymentPodWithoutOwner_InfersDeploymentFromPodName()
    {
        var key = WorkloadResolver.Compute(Ref(pod: "cart-7d9f8b6c5b-x2k4p"), "c");
        Assert.Equal("c/shop/Deployment/cart/app", key.Value);
    }

    [Fact]
    public void Compute_BarePod_FallsBackToPodName()
    {
        var key = WorkloadResolver.Compute(Ref(pod: "debug-shell"), "c");
        Assert.Equal("c/shop/Pod/debug-shell/app", key.Value);
    }

    [Fact]
    public void Compute_NoKubernetesMetadata_FallsBackToImageRepository()
    {
        var key = WorkloadResolver.Compute(Ref(ns: null, image: "registry.local:5000/acme/api:2.1@sha256:ff", container: null), "c");
        Assert.Equal("c/-/Image/registry.local:5000/acme/api/-", key.Value);
    }

    [Fact]
    public void Compute_OnlyContainerId_FallsBackToShortId()
    {
        var key = WorkloadResolver.Compute(Ref(ns: null, id: "containerd://0123456789abcdef0123", container: null), "c");
        Assert.Equal("c/-/Container/0123456789ab/-", key.Value);
    }

    [Fact]
    public void Compute_ClusterInEvent_OverridesDefault()
    {
        Assert.StartsWith("eu1/", WorkloadResolver.Compute(Ref(pod: "x", cluster: "eu1"), "c").Value);
    }

    [Fact]
    public void Resolve_TwoPodsOfOneDeployment_ShareOneKey()
    {
        var resolver = new WorkloadResolver("c");
        var a = resolver.Resolve(Some.Workload(pod: "cart-7d9f8b6c5b-aaaaa"));
        var b = resolver.Resolve(Some.Workload(pod: "cart-7d9f8b6c5b-bbbbb"));
        Assert.Equal(a, b);
        Assert.Same(a, resolver.Resolve(Some.Workload(pod: "cart-7d9f8b6c5b-aaaaa")));
    }

    [Fact]
    public void Resolve_MoreIdentitiesThanCapacity_StaysBounded()
    {
        const int capacity = 100;
        var resolver = new WorkloadResolver("c", capacity);
        for (var i = 0; i < 1000; i++)
        {
            resolver.Resolve(Ref(pod: "p" + i));
            Assert.True(resolver.Count <= capacity, $"after identity {i}: {resolver.Count} cached, capacity {capacity}");
        }

        // A full cache is cleared when a new identity arrives: at the 101st, 201st, ... 901st, dropping 900 of them.
        Assert.Equal(9, resolver.Evictions);
        Assert.Equal(capacity, resolver.Count);

        // The last 100 are the ones held: resolving them again neither grows nor evicts; one more identity evicts.
        for (var i = 900; i < 1000; i++)
        {
            resolver.Resolve(Ref(pod: "p" + i));
        }

        Assert.Equal(9, resolver.Evictions);
        Assert.Equal(capacity, resolver.Count);
        resolver.Resolve(Ref(pod: "p1000"));
        Assert.Equal(10, resolver.Evictions);
        Assert.Equal(1, resolver.Count);
    }

    [Fact]
    public void OwnerHash_AnyProcess_SameValueForTheOwnerWhateverTheContainer()
    {
        // Shards are chosen by it: a value fixed across processes (FNV-1a of the owner) makes a replay repeat exactly.
        Assert.Equal(204073412, new WorkloadKey("prod", "shop", "Deployment", "cart", "cart").OwnerHash);
        Assert.Equal(204073412, new WorkloadKey("prod", "shop", "Deployment", "cart", "istio-proxy").OwnerHash);
        Assert.NotEqual(204073412, new WorkloadKey("prod", "shop", "Deployment", "carts", "cart").OwnerHash);
    }

    [Fact]
    public void TryParse_ValueOfAResolvedKey_EqualKeyThatFindsItInADictionary()
    {
        var resolved = WorkloadResolver.Compute(Ref(pod: "cart-7d9f8b6c5b-x2k4p", ownerKind: "ReplicaSet", ownerName: "cart-7d9f8b6c5b"), "prod");
        var table = new Dictionary<WorkloadKey, int> { [resolved] = 1 };

        Assert.True(WorkloadKey.TryParse(resolved.Value, out var parsed));
        Assert.Equal(resolved, parsed);
        Assert.Equal(resolved.GetHashCode(), parsed.GetHashCode());
        Assert.Equal(1, table[parsed]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("shop/Deployment/cart")]
    [InlineData("prod/shop/Deployment/cart/app/extra")]
    public void TryParse_NotFiveParts_False(string? value) => Assert.False(WorkloadKey.TryParse(value, out _));
}
