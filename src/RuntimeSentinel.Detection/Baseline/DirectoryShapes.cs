namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// How a workload names its files, learned with its paths: distinct files per directory, and per subtree two and three
/// levels above a file when that ancestor is specific (three components or more: <c>/rails/tmp/cache</c>,
/// <c>/var/log/pods</c>; never <c>/var/log</c> or <c>/usr</c>). A new name in a busy directory or subtree (uploads,
/// caches fanned out into hashed directories, a log shipper's directory per pod) is the workload's normal. Bounded by
/// the per-feature cap; directories are slices of the interned paths, so counting allocates no strings.
/// </summary>
internal sealed class DirectoryShapes(int capacity)
{
    private readonly Dictionary<ReadOnlyMemory<char>, int> _children = new(MemoryComparer.Instance);
    private readonly Dictionary<ReadOnlyMemory<char>, int> _subtrees = new(MemoryComparer.Instance);

    public void Clear()
    {
        _children.Clear();
        _subtrees.Clear();
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
            if (_subtrees.TryGetValue(dir, out var n) && n >= threshold)
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
