using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Core.Tests;

public class ContainerIdTests
{
    [Theory]
    [InlineData("containerd://0123456789abcdef0123456789abcdef", "0123456789ab", true)]
    [InlineData("containerd://0123456789abcdef0123456789abcdef", "0123456789AB", true)]
    [InlineData("containerd://0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", true)]
    [InlineData("containerd://0123456789abcdef0123456789abcdef", "cri-o://0123456789abcdef0123456789abcdef", true)]
    [InlineData("containerd://0123456789abcdef0123456789abcdef", "containerd://0123456789abffff0123456789abcdef", false)]
    [InlineData("containerd://0123456789abcdef0123456789abcdef", "fedcba987654", false)]
    [InlineData("containerd://0123456789abcdef0123456789abcdef", "0123456789", false)]
    [InlineData("0123456789ab", "0123456789ab", true)]
    [InlineData(null, "0123456789ab", false)]
    [InlineData(null, null, true)]
    public void SameContainer_IdsAsSensorsWriteThem_OneContainerWhateverTheForm(string? a, string? b, bool same)
    {
        Assert.Equal(same, WorkloadResolver.SameContainer(a, b));
        Assert.Equal(same, WorkloadResolver.SameContainer(b, a));
        if (same && a is not null && b is not null)
        {
            Assert.Equal(ContainerIdComparer.Instance.GetHashCode(a), ContainerIdComparer.Instance.GetHashCode(b));
        }
    }

    [Fact]
    public void Comparer_SetOfFullIds_FindsEachByItsShortIdAndTellsTwoContainersWithACommonPrefixApart()
    {
        var known = new HashSet<string>(ContainerIdComparer.Instance) { "containerd://0123456789abcdef0123456789abcdef", "containerd://0123456789abffff0123456789abffff" };

        Assert.Contains("0123456789abcdef0123456789abcdef", known);
        Assert.Contains("docker://0123456789ABFFFF0123456789ABFFFF", known);
        Assert.Equal(2, known.Count);
        Assert.DoesNotContain("containerd://fedcba9876543210fedcba9876543210", known);
    }
}
