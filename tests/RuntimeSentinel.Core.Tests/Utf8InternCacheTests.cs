using System.Text;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Core.Tests;

public class Utf8InternCacheTests
{
    [Fact]
    public void Get_SameBytes_ReturnsSameInstance()
    {
        var cache = new Utf8StringCache(16);
        var a = cache.Get("/usr/bin/node"u8);
        var b = cache.Get(Encoding.UTF8.GetBytes("/usr/bin/node"));
        Assert.Same(a, b);
        Assert.Equal(1, cache.Hits);
    }

    [Fact]
    public void Get_ManyUniqueValues_NeverHoldsMoreThanCapacity()
    {
        var cache = new Utf8StringCache(16);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.Equal("v" + i, cache.Get(Encoding.UTF8.GetBytes("v" + i)));
        }

        // Correctness under constant collisions: values are always right, hits impossible for unique input.
        Assert.Equal(0, cache.Hits);
    }

    [Fact]
    public void Constructor_NotPowerOfTwo_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Utf8InternCache<string>(100));
    }
}
