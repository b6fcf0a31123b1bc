namespace RuntimeSentinel.Formats;

/// <summary>
/// Values derived from repeated message content (label sets, split names), built once. Bounded: when full it starts
/// over, so a flood of unique keys costs a build each, never memory. Not thread-safe (one per decoder).
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(int capacity, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly Dictionary<TKey, TValue> _map = new(comparer);

    public TValue GetOrAdd<TState>(TKey key, TState state, Func<TKey, TState, TValue> factory)
    {
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
