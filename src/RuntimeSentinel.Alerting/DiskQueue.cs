namespace RuntimeSentinel.Alerting;

/// <summary>
/// A bounded, ordered on-disk queue of rendered batches for one sink: one file per batch, written to a temporary
/// name and renamed, so a crash never leaves a half batch. Survives restarts; when over its byte bound, the oldest
/// batches are dropped (and counted by the caller).
/// </summary>
public sealed class DiskQueue
{
    private readonly string _dir;
    private readonly long _maxBytes;
    private long _next;

    public DiskQueue(string directory, long maxBytes)
    {
        _dir = directory;
        _maxBytes = maxBytes;
        Directory.CreateDirectory(_dir);
        foreach (var tmp in Directory.GetFiles(_dir, "*.tmp"))
        {
            File.Delete(tmp);
        }

        _next = Files().Select(f => long.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max() + 1;
        Count = Files().Sum(f => ReadCount(f));
    }

    /// <summary>Items (not batches) waiting on disk.</summary>
    public long Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>Appends a batch; returns how many older items were dropped to stay within the bound.</summary>
    public long Append(IReadOnlyList<byte[]> items)
    {
        var path = Path.Combine(_dir, _next.ToString("D16", System.Globalization.CultureInfo.InvariantCulture) + ".batch");
        _next++;
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
        using (var w = new BinaryWriter(fs))
        {
            w.Write(items.Count);
            foreach (var item in items)
            {
                w.Write(item.Length);
                w.Write(item);
            }

            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path);
        Count += items.Count;
        long dropped = 0;
        var files = Files();
        var total = files.Sum(f => new FileInfo(f).Length);
        foreach (var f in files)
        {
            if (total <= _maxBytes || f == path)
            {
                break;
            }

            var n = ReadCount(f);
            total -= new FileInfo(f).Length;
            File.Delete(f);
            Count -= n;
            dropped += n;
        }

        return dropped;
    }

    /// <summary>The oldest batch, or null when empty.</summary>
    public (string File, List<byte[]> Items)? Peek()
    {
        var first = Files().FirstOrDefault();
        if (first is null)
        {
            return null;
        }

        using var r = new BinaryReader(File.OpenRead(first));
        var n = r.ReadInt32();
        var items = new List<byte[]>(n);
        for (var i = 0; i < n; i++)
        {
            items.Add(r.ReadBytes(r.ReadInt32()));
        }

        return (first, items);
    }

    public void Remove(string file, int items)
    {
        File.Delete(file);
        Count -= items;
    }

    private List<string> Files() => Directory.GetFiles(_dir, "*.batch").Order(StringComparer.Ordinal).ToList();

    private static int ReadCount(string file)
    {
        using var r = new BinaryReader(File.OpenRead(file));
        return r.ReadInt32();
    }
}
