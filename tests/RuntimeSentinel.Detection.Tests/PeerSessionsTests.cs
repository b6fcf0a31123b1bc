using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class PeerSessionsTests
{
    private const string Postgres = "10.96.14.2";

    private static RuntimeEvent Connect(string ip, int localPort, int port = 5432, long? rc = null) =>
        Some.Event(EventKind.NetConnect) with { ReturnCode = rc, Net = new NetInfo("tcp", "10.244.2.7", localPort, ip, port, 0, 0) { Direction = NetDirection.Outbound } };

    private static RuntimeEvent Close(string ip, int localPort, int port = 5432) =>
        Some.Event(EventKind.NetFlow) with { SyscallName = "close", Net = new NetInfo("tcp", "10.244.2.7", localPort, ip, port, 0, 0) { Direction = NetDirection.Outbound } };

    private static RuntimeEvent Traffic(string ip, int localPort, int port = 5432) =>
        Some.Event(EventKind.NetFlow) with { SyscallName = "tcp_sendmsg", Net = new NetInfo("tcp", "10.244.2.7", localPort, ip, port, 0, 300) { Direction = NetDirection.Outbound } };

    /// <summary>Learning: a pooled connection to the database (traffic every 10 s), and a proxy making short requests to its upstream.</summary>
    private static PeerSessions Learned(DateTimeOffset t)
    {
        var s = new PeerSessions(maxPeers: 64);
        s.Observe(Connect(Postgres, 41000), "postgres", t, learning: true, out _, out _);
        var port = 50000;
        for (var sec = 0; sec < 30 * 60; sec += 2)
        {
            var at = t.AddSeconds(sec);
            if (sec % 10 == 0)
            {
                s.Observe(Traffic(Postgres, 41000), "postgres", at, learning: true, out _, out _);
            }

            // 30 requests a minute to the upstream, each its own connection closed after 12 ms.
            s.Observe(Connect("10.96.3.3", ++port, 8000), "api", at, learning: true, out _, out _);
            s.Observe(Close("10.96.3.3", port, 8000), "api", at.AddMilliseconds(12), learning: true, out _, out _);
        }

        return s;
    }

    [Fact]
    public void Observe_ConnectionsToAPooledPeerClosedAtOnceEveryFewSeconds_RaisedOnceWithTheLearnedRate()
    {
        var t = Some.Time;
        var s = Learned(t);
        var now = t.AddMinutes(40);
        var raised = 0;
        int count = 0, learned = -1;

        // Password guessing: a new connection every 3 s, the server's error, a close 4 ms later.
        for (var i = 0; i < 40; i++)
        {
            var at = now.AddSeconds(3 * i);
            s.Observe(Connect(Postgres, 42000 + i), "postgres", at, learning: false, out _, out _);
            if (s.Observe(Close(Postgres, 42000 + i), "postgres", at.AddMilliseconds(4), learning: false, out var c, out var l))
            {
                raised++;
                (count, learned) = (c, l);
            }
        }

        Assert.Equal(2, raised); // once per minute of guessing
        Assert.Equal(PeerSessions.Floor, count);
        Assert.Equal(0, learned);
    }

    [Fact]
    public void Observe_AProxysUsualShortRequestsAndLongSessions_NotRaised()
    {
        var t = Some.Time;
        var s = Learned(t);
        var now = t.AddMinutes(40);
        var port = 60000;
        for (var sec = 0; sec < 300; sec += 2)
        {
            var at = now.AddSeconds(sec);
            Assert.False(s.Observe(Connect("10.96.3.3", ++port, 8000), "api", at, learning: false, out _, out _));
            Assert.False(s.Observe(Close("10.96.3.3", port, 8000), "api", at.AddMilliseconds(12), learning: false, out _, out _));
        }

        // Connections to the database that live their normal life (closed a minute later) are not failures.
        for (var i = 0; i < 40; i++)
        {
            var at = now.AddSeconds(3 * i);
            Assert.False(s.Observe(Connect(Postgres, 43000 + i), "postgres", at, learning: false, out _, out _));
            Assert.False(s.Observe(Close(Postgres, 43000 + i), "postgres", at.AddSeconds(60), learning: false, out _, out _));
        }
    }

    [Fact]
    public void Observe_RefusedConnects_CountAsFailures()
    {
        var t = Some.Time;
        var s = Learned(t);
        var now = t.AddMinutes(40);
        var raised = false;
        for (var i = 0; i < 12; i++)
        {
            raised |= s.Observe(Connect(Postgres, 44000 + i, rc: -111), "postgres", now.AddSeconds(i), learning: false, out _, out _);
        }

        Assert.True(raised);
    }

    [Fact]
    public void Observe_FloodOfUniquePortsThatNeverClose_OpenTableStaysBounded()
    {
        var t = Some.Time;
        var s = Learned(t);
        var now = t.AddMinutes(40);
        for (var i = 0; i < 100_000; i++)
        {
            s.Observe(Connect("10.96.3.3", i % 60000, 8000 + (i / 60000)), "api", now.AddMilliseconds(i), learning: false, out _, out _);
        }

        // Still tracking new connections (stale ones were swept): a burst of at-once closes is still seen.
        var raised = false;
        for (var i = 0; i < PeerSessions.Floor * PeerSessions.Factor * 40; i++)
        {
            var at = now.AddSeconds(200).AddMilliseconds(10 * i);
            s.Observe(Connect(Postgres, 10_000 + i), "postgres", at, learning: false, out _, out _);
            raised |= s.Observe(Close(Postgres, 10_000 + i), "postgres", at.AddMilliseconds(3), learning: false, out _, out _);
        }

        Assert.True(raised);
        Assert.Equal(3, s.Count); // api:8000, api:8001 (the flood's two service ports) and postgres:5432
    }
}
