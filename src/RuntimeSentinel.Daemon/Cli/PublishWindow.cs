namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// Keeps a producer at most a number of bytes ahead of a consumer in the same process, counting in messages: the
/// consumer reports how many it has read, and the window remembers each unread message's size. Its memory is bounded by
/// the byte budget (one entry per unread message).
/// </summary>
internal sealed class PublishWindow(Func<long> read, long maxAheadBytes)
{
    private readonly Queue<int> _unread = new();
    private long _published;
    private long _dropped;
    private long _bytes;

    /// <summary>Bytes published and not yet read, as of the last check.</summary>
    public long AheadBytes => _bytes;

    /// <summary>
    /// Waits until a message of <paramref name="size"/> bytes fits, then counts it as published. One message larger
    /// than the whole budget is let through once everything before it was read (it cannot be split).
    /// </summary>
    public async Task WaitForRoomAsync(int size, CancellationToken ct)
    {
        Forget();
        while (_unread.Count > 0 && _bytes + size > maxAheadBytes)
        {
            await Task.Delay(2, ct).ConfigureAwait(false);
            Forget();
        }

        _unread.Enqueue(size);
        _bytes += size;
        _published++;
    }

    /// <summary>Drops the sizes of the messages the consumer has read since the last look.</summary>
    private void Forget()
    {
        var done = Math.Min(read(), _published);
        while (_dropped < done && _unread.TryDequeue(out var size))
        {
            _bytes -= size;
            _dropped++;
        }
    }
}
