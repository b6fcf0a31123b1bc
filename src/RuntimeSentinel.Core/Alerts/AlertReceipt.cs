namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// Tells the producer of alerts when they are safe: each alert of one event settles the receipt once, when every sink
/// has delivered it or spilled it to disk, or when it never will be delivered (suppressed, held back by a budget,
/// dropped, failed; each counted where it happens). When all have settled, the event's offset may be committed: a
/// crash before that re-reads the event and raises its alerts again, rather than losing them.
/// </summary>
public sealed class AlertReceipt
{
    private readonly Action _settled;
    private int _open;

    /// <param name="alerts">How many alerts carry this receipt.</param>
    /// <param name="settled">Runs once, when the last of them settles (on whichever thread that happens).</param>
    public AlertReceipt(int alerts, Action settled)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(alerts, 1);
        _open = alerts;
        _settled = settled;
    }

    /// <summary>Alerts of this receipt not settled yet.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>One alert is durable or will never be delivered; extra calls beyond the count are ignored.</summary>
    public void Settle()
    {
        var left = Interlocked.Decrement(ref _open);
        if (left == 0)
        {
            _settled();
        }
        else if (left < 0)
        {
            Interlocked.Exchange(ref _open, 0);
        }
    }

    /// <summary>Settles every receipt in <paramref name="receipts"/> once per entry.</summary>
    public static void SettleAll(IEnumerable<AlertReceipt> receipts)
    {
        foreach (var r in receipts)
        {
            r.Settle();
        }
    }
}
