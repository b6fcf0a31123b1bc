using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class ProcessKeyTests
{
    [Fact]
    public void Of_OneContainerAsEachSensorWritesIt_SameKey()
    {
        // Tetragon: the runtime and the full id; Falco: the short id; Tracee: the bare id; any case.
        long[] keys =
        [
            ProcessKey.Of("containerd://0123456789abcdef0123456789abcdef", 42),
            ProcessKey.Of("0123456789ab", 42),
            ProcessKey.Of("0123456789abcdef0123456789abcdef", 42),
            ProcessKey.Of("0123456789AB", 42),
        ];

        Assert.Single(keys.Distinct());
        Assert.Equal(42, ProcessKey.Pid(keys[0]));
    }

    [Fact]
    public void Of_SamePidInAnotherContainerOrOnTheHost_OtherKeys()
    {
        var here = ProcessKey.Of("containerd://0123456789abcdef", 1);

        Assert.NotEqual(here, ProcessKey.Of("containerd://fedcba9876543210", 1));
        Assert.NotEqual(here, ProcessKey.Of(null, 1));
        Assert.NotEqual(here, ProcessKey.Of("containerd://0123456789abcdef", 2));
        Assert.Equal(-1, ProcessKey.Pid(ProcessKey.Of("containerd://0123456789abcdef", -1)));
    }

    [Fact]
    public void Keys_EventsOfTwoContainersInTurn_EachKeyAsComputedAlone()
    {
        var keys = default(ProcessKeys);
        var a = Some.Syscall("read") with { Process = Some.Syscall("read").Process with { Pid = 7 } };
        var b = a with { Workload = a.Workload with { ContainerId = "containerd://fedcba9876543210" } };

        foreach (var e in new[] { a, b, a, a, b })
        {
            Assert.Equal(ProcessKey.Of(e), keys.Of(e));
        }
    }
}
