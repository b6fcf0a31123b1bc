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
        const int capacity = 16;
        var cache = new Utf8StringCache(capacity);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.Equal("v" + i, cache.Get(Encoding.UTF8.GetBytes("v" + i)));
            Assert.True(cache.Count <= capacity, $"after value {i}: {cache.Count} entries held, capacity {capacity}");
        }

        // Filled to capacity (values are kept, not dropped) while 10,000 went through: the rest were replaced.
        Assert.Equal(capacity, cache.Count);
        Assert.Equal(10_000, cache.Misses);

        // Correctness under constant collisions: values are always right, hits impossible for unique input.
        Assert.Equal(0, cache.Hits);
    }

    [Fact]
    public void Constructor_NotPowerOfTwo_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Utf8InternCache<string>(100));
    }
}
