namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// How a workload names its files, learned with its paths: distinct files per directory, and per subtree two and three
/// levels above a file when that ancestor is specific (three components or more: <c>/rails/tmp/cache</c>,
/// <c>/var/log/pods</c>; never <c>/var/log</c> or <c>/usr</c>). A new name in a busy directory or subtree (uploads,
/// caches fanned out into hashed directories, a log shipper's directory per pod) is the workload's normal. Bounded by
/// the per-feature cap; directories are slices of the interned paths, so counting allocates no strings.
/// A subtree is also busy when the workload created many differently named files under it whose paths normalise to a
/// few shapes: 62 Rails cache entries under <c>/rails/tmp/cache/&lt;4 hex&gt;/&lt;4 hex&gt;/</c> are 7 shapes
/// (<c>{hex}/{hex}</c>, <c>{n}/{hex}</c>, a letters-only name kept as a word...), and the next entry may be an eighth.
/// Those are counted by raw name (a hash each, up to the threshold) and checkpointed as the list of busy subtrees.
/// </summary>
internal sealed class DirectoryShapes(int capacity, int busyNames)
{
    private readonly Dictionary<ReadOnlyMemory<char>, int> _children = new(MemoryComparer.Instance);
    private readonly Dictionary<ReadOnlyMemory<char>, int> _subtrees = new(MemoryComparer.Instance);

    // Per subtree, hashes of the raw names created below it until there are `busyNames` of them; then the set is dropped
    // and the subtree joins _busyByName. Bounded: at most `capacity` subtrees, `busyNames` hashes each.
    private readonly Dictionary<ReadOnlyMemory<char>, HashSet<int>?> _rawNames = new(MemoryComparer.Instance);
    private readonly HashSet<string> _busyByName = new(StringComparer.Ordinal);

    public void Clear()
    {
        _children.Clear();
        _subtrees.Clear();
        _rawNames.Clear();
        _busyByName.Clear();
    }

    /// <summary>Subtrees that are busy by the raw names created under them (checkpointed).</summary>
    public IReadOnlyCollection<string> BusyByName => _busyByName;

    /// <summary>Restores a subtree busy by raw names (from a checkpoint).</summary>
    public void RestoreBusy(string subtree)
    {
        if (_busyByName.Count < capacity)
        {
            _busyByName.Add(subtree);
            _rawNames[subtree.AsMemory()] = null;
        }
    }

    /// <summary>
    /// Counts a file created while learning by its raw name, when normalising it folded something (otherwise its shape
    /// is its name, and <see cref="Count"/> counted it).
    /// </summary>
    public void CountCreated(string normalizedPath, string rawPath)
    {
        if (string.Equals(normalizedPath, rawPath, StringComparison.Ordinal))
        {
            return;
        }

        var dir = Directory(Directory(normalizedPath.AsMemory()));
        var hash = string.GetHashCode(rawPath, StringComparison.Ordinal);
        for (var up = 0; up < 2 && Depth(dir.Span) >= 3; up++, dir = Directory(dir))
        {
            ref var names = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_rawNames, dir, out var existed);
            if (!existed && _rawNames.Count > capacity)
            {
                _rawNames.Remove(dir);
                return;
            }

            if (existed && names is null)
            {
                continue; // already busy
            }

            names ??= new HashSet<int>();
            names.Add(hash);
            if (names.Count >= busyNames)
            {
                names = null;
                _busyByName.Add(dir.ToString());
            }
        }
    }

    /// <summary>Counts a path learned for the first time.</summary>
    public void Count(string path)
    {
        var dir = Directory(path.AsMemory());
        Increment(_children, dir);
        for (var up = 0; up < 2; up++)
        {
            dir = Directory(dir);
            if (Depth(dir.Span) < 3)
            {
                break;
            }

            Increment(_subtrees, dir);
        }
    }

    /// <summary>Distinct learned files in the path's directory (0: a directory the workload never used).</summary>
    public int Children(string path) => _children.TryGetValue(Directory(path.AsMemory()), out var n) ? n : 0;

    /// <summary>True when the path lies two or three levels below a specific directory with at least <paramref name="threshold"/> learned files.</summary>
    public bool InBusySubtree(string path, int threshold)
    {
        var dir = Directory(Directory(path.AsMemory()));
        for (var up = 0; up < 2 && Depth(dir.Span) >= 3; up++, dir = Directory(dir))
        {
            if ((_subtrees.TryGetValue(dir, out var n) && n >= threshold) || (_rawNames.TryGetValue(dir, out var names) && names is null))
            {
                return true;
            }
        }

        return false;
    }

    private void Increment(Dictionary<ReadOnlyMemory<char>, int> counts, ReadOnlyMemory<char> key)
    {
        if (counts.TryGetValue(key, out var n))
        {
            counts[key] = n + 1;
        }
        else if (counts.Count < capacity)
        {
            counts[key] = 1;
        }
    }

    private static int Depth(ReadOnlySpan<char> dir) => dir.Count('/');

    private static ReadOnlyMemory<char> Directory(ReadOnlyMemory<char> path) => path[..Math.Max(path.Span.LastIndexOf('/'), 0)];
}

/// <summary>Ordinal equality for <see cref="ReadOnlyMemory{T}"/> of chars (directory prefixes of interned paths).</summary>
internal sealed class MemoryComparer : IEqualityComparer<ReadOnlyMemory<char>>
{
    public static MemoryComparer Instance { get; } = new();

    public bool Equals(ReadOnlyMemory<char> x, ReadOnlyMemory<char> y) => x.Span.SequenceEqual(y.Span);

    public int GetHashCode(ReadOnlyMemory<char> obj) => string.GetHashCode(obj.Span, StringComparison.Ordinal);
}
