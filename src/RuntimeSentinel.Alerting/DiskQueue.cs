namespace RuntimeSentinel.Alerting;

/// <summary>
/// A bounded, ordered on-disk queue of rendered batches for one sink: one file per batch, written to a temporary
/// name and renamed, so a crash never leaves a half batch. Survives restarts; when over its byte bound, the oldest
/// batches are dropped (and counted by the caller).
/// </summary>
internal sealed class DiskQueue
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
        Count = Files().Sum(f => ReadCount(f) ?? 0);
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

            var n = ReadCount(f) ?? 0;
            total -= new FileInfo(f).Length;
            File.Delete(f);
            Count -= n;
            dropped += n;
        }

        return dropped;
    }

    /// <summary>Batch files found unreadable and moved aside (<c>*.corrupt</c>), so they cannot block the queue.</summary>
    public int Quarantined { get; private set; }

    /// <summary>The oldest readable batch, or null when empty. Unreadable batch files are moved aside.</summary>
    public (string File, List<byte[]> Items)? Peek()
    {
        foreach (var file in Files())
        {
            if (TryRead(file) is { } items)
            {
                return (file, items);
            }

            Quarantine(file);
        }

        Count = 0;
        return null;
    }

    public void Remove(string file, int items)
    {
        File.Delete(file);
        Count -= items;
    }

    // Only names this queue writes (16 digits): a stray file in the directory is neither read nor a crash.
    private List<string> Files() => Directory.GetFiles(_dir, "*.batch")
        .Where(f => Path.GetFileNameWithoutExtension(f) is { Length: 16 } n && n.All(char.IsAsciiDigit))
        .Order(StringComparer.Ordinal).ToList();

    private static List<byte[]>? TryRead(string file)
    {
        try
        {
            using var r = new BinaryReader(File.OpenRead(file));
            var length = r.BaseStream.Length;
            var n = r.ReadInt32();
            if (n < 0 || n > length / 4)
            {
                return null;
            }

            var items = new List<byte[]>(n);
            for (var i = 0; i < n; i++)
            {
                var size = r.ReadInt32();
                if (size < 0 || size > length - r.BaseStream.Position)
                {
                    return null;
                }

                items.Add(r.ReadBytes(size));
            }

            return items;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private int? ReadCount(string file)
    {
        var items = TryRead(file);
        if (items is null)
        {
            Quarantine(file);
            return null;
        }

        return items.Count;
    }

    private void Quarantine(string file)
    {
        try
        {
            File.Move(file, file + ".corrupt", overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left in place; it is skipped again next time.
        }

        Quarantined++;
    }
}
