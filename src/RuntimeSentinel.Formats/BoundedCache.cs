namespace RuntimeSentinel.Formats;

/// <summary>
/// Values derived from repeated message content (label sets, split names), built once. Bounded twice: when full it
/// starts over, and a key longer than <see cref="MaxKeyLength"/> is built and never kept, so a flood of unique or huge
/// keys costs a build each, never memory. Not thread-safe (one per decoder). Values keyed by raw message bytes use
/// <see cref="Core.Text.Utf8InternCache{T}"/> instead.
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(int capacity, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    /// <summary>Keys (summed text lengths) longer than this are not cached: memory stays bounded by count × this.</summary>
    public const int MaxKeyLength = 512;

    private readonly Dictionary<TKey, TValue> _map = new(comparer);

    /// <param name="keyLength">The key's size in characters (the sum of its strings for a composite key).</param>
    public TValue GetOrAdd<TState>(TKey key, int keyLength, TState state, Func<TKey, TState, TValue> factory)
    {
        if (keyLength > MaxKeyLength)
        {
            return factory(key, state);
        }

        if (!_map.TryGetValue(key, out var value))
        {
            if (_map.Count >= capacity)
            {
                _map.Clear();
            }

            _map[key] = value = factory(key, state);
        }

        return value;
    }
}
