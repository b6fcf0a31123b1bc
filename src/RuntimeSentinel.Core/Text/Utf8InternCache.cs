using System.Runtime.InteropServices;

namespace RuntimeSentinel.Core.Text;

/// <summary>Builds a cached value from its UTF-8 key.</summary>
public delegate T Utf8Factory<in TState, out T>(ReadOnlySpan<byte> utf8, TState state);

/// <summary>
/// A fixed-size, direct-mapped cache from UTF-8 bytes to an object built from them (a string, a label set).
/// Runtime events repeat the same names (namespaces, images, executables, paths) millions of times; looking
/// them up here instead of decoding them again removes the per-event string allocations. The cache never grows:
/// a colliding entry simply replaces the previous one, so a flood of unique values costs a miss, not memory.
/// Not thread-safe: each decoder owns its caches.
/// </summary>
public sealed class Utf8InternCache<T>
    where T : class
{
    private readonly Entry[] _entries;
    private readonly int _mask;
    private readonly int _maxKeyBytes;

    public Utf8InternCache(int capacityPowerOfTwo = 4096, int maxKeyBytes = 512)
    {
        if (capacityPowerOfTwo <= 0 || (capacityPowerOfTwo & (capacityPowerOfTwo - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityPowerOfTwo), "must be a power of two");
        }

        _entries = new Entry[capacityPowerOfTwo];
        _mask = capacityPowerOfTwo - 1;
        _maxKeyBytes = maxKeyBytes;
    }

    public long Hits { get; private set; }

    public long Misses { get; private set; }

    /// <summary>Entries held (occupied slots), never more than the capacity. Counts on each call: for tests.</summary>
    internal int Count
    {
        get
        {
            var n = 0;
            foreach (var e in _entries)
            {
                n += e.Key is null ? 0 : 1;
            }

            return n;
        }
    }

    public T GetOrAdd<TState>(ReadOnlySpan<byte> key, TState state, Utf8Factory<TState, T> factory)
    {
        if (key.Length > _maxKeyBytes)
        {
            // Long values are rarely repeated (command lines with ids); caching them would only evict useful entries.
            Misses++;
            return factory(key, state);
        }

        var hash = Hash(key);
        ref var entry = ref _entries[hash & _mask];
        if (entry.Hash == hash && entry.Key is not null && key.SequenceEqual(entry.Key))
        {
            Hits++;
            return entry.Value!;
        }

        Misses++;
        var value = factory(key, state);
        entry = new Entry(hash, key.ToArray(), value);
        return value;
    }

    private static int Hash(ReadOnlySpan<byte> key)
    {
        // FNV-1a over 4-byte words: good spread for short identifiers, cheap, no allocation.
        var h = 2166136261u;
        var words = MemoryMarshal.Cast<byte, uint>(key);
        foreach (var w in words)
        {
            h = (h ^ w) * 16777619u;
        }

        for (var i = words.Length * 4; i < key.Length; i++)
        {
            h = (h ^ key[i]) * 16777619u;
        }

        h ^= (uint)key.Length;
        h ^= h >> 15;
        return (int)(h & 0x7fffffff);
    }

    private readonly record struct Entry(int Hash, byte[]? Key, T? Value);
}

/// <summary>Interned strings decoded from UTF-8.</summary>
public sealed class Utf8StringCache(int capacityPowerOfTwo = 4096, int maxKeyBytes = 512)
{
    /// <summary>
    /// Returned (by reference) for byte sequences that are not valid UTF-8. Validation happens only when a value
    /// is decoded, i.e. on a cache miss, so repeated valid values cost nothing extra.
    /// </summary>
    public static readonly string InvalidUtf8 = new('\uFFFD', 1);

    private static readonly Utf8Factory<int, string> Decode = static (utf8, _) =>
        System.Text.Unicode.Utf8.IsValid(utf8) ? System.Text.Encoding.UTF8.GetString(utf8) : InvalidUtf8;
    private readonly Utf8InternCache<string> _cache = new(capacityPowerOfTwo, maxKeyBytes);

    public long Hits => _cache.Hits;

    public long Misses => _cache.Misses;

    internal int Count => _cache.Count;

    public string Get(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? string.Empty : _cache.GetOrAdd(utf8, 0, Decode);
}
