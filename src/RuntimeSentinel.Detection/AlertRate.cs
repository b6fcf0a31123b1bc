namespace RuntimeSentinel.Detection;

/// <summary>Alerts per minute over the last 24 hours, in a fixed ring (thread-safe, no allocation per alert).</summary>
internal sealed class AlertRate
{
    private readonly long[] _minutes = new long[1440];
    private readonly long[] _stamps = new long[1440];

    public void Record(DateTimeOffset now)
    {
        var minute = now.ToUnixTimeSeconds() / 60;
        var i = (int)(minute % _minutes.Length);
        if (Interlocked.Exchange(ref _stamps[i], minute) != minute)
        {
            // The slot held a minute from a day ago: restart it (a race here loses at most a few counts).
            Interlocked.Exchange(ref _minutes[i], 0);
        }

        Interlocked.Increment(ref _minutes[i]);
    }

    public long CountSince(DateTimeOffset from, DateTimeOffset now)
    {
        var first = from.ToUnixTimeSeconds() / 60;
        var last = now.ToUnixTimeSeconds() / 60;
        long sum = 0;
        for (var i = 0; i < _minutes.Length; i++)
        {
            var m = Interlocked.Read(ref _stamps[i]);
            if (m >= first && m <= last)
            {
                sum += Interlocked.Read(ref _minutes[i]);
            }
        }

        return sum;
    }
}
