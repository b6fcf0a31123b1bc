using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Deploy.Tests;

/// <summary>Incidents delivered to a real Alertmanager, and to a webhook that goes away mid-stream.</summary>
public class AlertDeliveryTests(ITestOutputHelper output)
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static List<JsonElement> Incidents(string file) =>
        File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).GroupBy(i => i.GetProperty("id").GetString()).Select(g => g.Last()).ToList();

    [SkippableFact]
    public async Task Demo_WithAlertmanagerSink_EveryIncidentIsReadableInAlertmanager()
    {
        var alertmanager = Tools.Require("prometheus-alertmanager", "apt-get install prometheus-alertmanager");
        var dir = Directory.CreateTempSubdirectory("sentinel-am-");
        var port = FreePort();
        var config = Path.Combine(dir.FullName, "alertmanager.yml");
        await File.WriteAllTextAsync(config, """
            route:
              receiver: sink
              group_by: [incident]
            receivers:
              - name: sink
            """);
        var psi = new System.Diagnostics.ProcessStartInfo(alertmanager) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--config.file=" + config, "--storage.path=" + Path.Combine(dir.FullName, "data"), $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=" })
        {
            psi.ArgumentList.Add(a);
        }

        using var am = System.Diagnostics.Process.Start(psi)!;
        am.BeginErrorReadLine();
        am.BeginOutputReadLine();
        var alertsFile = Path.Combine(dir.FullName, "alerts.jsonl");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await KafkaTestKit.EventuallyAsync(() => { try { return http.GetAsync("/-/ready").Result.IsSuccessStatusCode; } catch (AggregateException) { return false; } }, TimeSpan.FromSeconds(30), "Alertmanager ready");
            var env = new Dictionary<string, string>
            {
                ["SENTINEL_Alerting__Alertmanager__Url"] = $"http://127.0.0.1:{port}",
                ["SENTINEL_Alerting__RunbookUrlTemplate"] = "https://runbooks.example/sentinel/{category}",
                ["SENTINEL_Alerting__SpillDirectory"] = Path.Combine(dir.FullName, "spill"),
            };
            // The scenario on its own clock, to its end: seven attacks, each one incident, nothing on normal behaviour.
            using var sentinel = new SentinelProcess(env, "demo", "--learning", "20", "--speed", "10", "--exit-when-done", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--alerts-file", alertsFile);
            await sentinel.AssertExitsWithAsync(0, TimeSpan.FromMinutes(5));

            var incidents = Incidents(alertsFile).Where(i => i.GetProperty("kind").GetString() == "detection").ToList();
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/api/v2/alerts"));
            var inAm = doc.RootElement.EnumerateArray().ToList();
            Assert.True(incidents.Count == 7, $"{incidents.Count} incidents for 7 attacks: " + string.Join("; ", incidents.Select(i => i.GetProperty("summary").GetString())));
            Assert.Equal(incidents.Select(i => i.GetProperty("id").GetString()).Order(), inAm.Select(a => a.GetProperty("labels").GetProperty("incident").GetString()).Order());
            foreach (var a in inAm)
            {
                var labels = a.GetProperty("labels");
                Assert.StartsWith("RuntimeSentinel", labels.GetProperty("alertname").GetString(), StringComparison.Ordinal);
                Assert.Equal("demo", labels.GetProperty("cluster").GetString());
                Assert.StartsWith("https://runbooks.example/sentinel/", a.GetProperty("annotations").GetProperty("runbook_url").GetString(), StringComparison.Ordinal);
                Assert.False(string.IsNullOrEmpty(a.GetProperty("annotations").GetProperty("summary").GetString()));
            }

            Assert.Contains(inAm, a => a.GetProperty("labels").TryGetProperty("mitre_technique", out var t) && t.GetString() == "T1496");
            Assert.Contains(inAm, a => a.GetProperty("labels").TryGetProperty("mitre_technique", out var t) && t.GetString() == "T1003.008");
        }
        finally
        {
            am.Kill(entireProcessTree: true);
            await am.WaitForExitAsync();
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Demo_WebhookReceiverKilledMidStream_EveryIncidentArrivesOnceItReturns()
    {
        // The receiver is a separate process (Python's http.server) that records each request before it answers
        // 200. Its first incarnation crashes on the first request it gets (os._exit, no answer: the kernel resets the
        // connection, as in a real crash), so the outage begins mid-stream whatever the batching, with a batch in flight.
        var python = Tools.Require("python3", "python3");
        var dir = Directory.CreateTempSubdirectory("sentinel-hook-");
        var port = FreePort();
        const string secret = "s3cret";
        var script = Path.Combine(dir.FullName, "receiver.py");
        var log = Path.Combine(dir.FullName, "received.jsonl");
        await File.WriteAllTextAsync(script, """
            import http.server, json, os, sys
            port, out, crash = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "crash"
            class Handler(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.0"
                def do_POST(self):
                    if crash:
                        os._exit(1)
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    with open(out, "ab") as f:
                        f.write(json.dumps({"sig": self.headers.get("X-Sentinel-Signature"), "ts": self.headers.get("X-Sentinel-Timestamp"), "body": body.decode()}).encode() + b"\n")
                    self.send_response(200)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            http.server.ThreadingHTTPServer.allow_reuse_address = True
            http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
            """);
        System.Diagnostics.Process Receiver(bool crash)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(python) { UseShellExecute = false };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(log);
            psi.ArgumentList.Add(crash ? "crash" : "serve");
            return System.Diagnostics.Process.Start(psi)!;
        }

        var alertsFile = Path.Combine(dir.FullName, "alerts.jsonl");
        var env = new Dictionary<string, string>
        {
            ["SENTINEL_Alerting__Webhook__Url"] = $"http://127.0.0.1:{port}/hook",
            ["SENTINEL_Alerting__Webhook__Secret"] = secret,
            ["SENTINEL_Alerting__MaxBackoff"] = "00:00:02",
            ["SENTINEL_Alerting__SpillDirectory"] = Path.Combine(dir.FullName, "spill"),
        };
        var receiver = Receiver(crash: true);
        using var sentinel = new SentinelProcess(env, "demo", "--learning", "20", "--speed", "10", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--alerts-file", alertsFile);
        using var metrics = new HttpClient { BaseAddress = new Uri(await sentinel.AddressAsync(TimeSpan.FromSeconds(120))) };

        // The first delivery kills the receiver; the daemon notices (a failed delivery) and keeps the batch on disk.
        using (var firstRequest = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            await receiver.WaitForExitAsync(firstRequest.Token); // throws when the receiver never got a request
        }

        receiver.Dispose();
        await sentinel.LogLineAsync("Sink webhook: delivery of", TimeSpan.FromMinutes(2));
        await KafkaTestKit.EventuallyAsync(() => Exposition.Sum(metrics.GetStringAsync("/metrics").Result, "sentinel_alert_sink_spilled_total", "webhook") >= 1, TimeSpan.FromMinutes(2), "the failed batch spilled to disk");
        var receivedDuringOutage = File.Exists(log) ? File.ReadAllLines(log).Length : 0;

        // The receiver returns; the spilled incidents are replayed in order, then the scenario plays to its end.
        receiver = Receiver(crash: false);
        try
        {
            await sentinel.LogLineAsync("Sink webhook recovered", TimeSpan.FromMinutes(2));
            await sentinel.LogLineAsync("Demo scenario complete", TimeSpan.FromMinutes(5));
            Assert.Equal(0, await sentinel.StopGracefullyAsync(TimeSpan.FromMinutes(2)));
        }
        finally
        {
            receiver.Kill();
            await receiver.WaitForExitAsync();
            receiver.Dispose();
        }

        var written = Incidents(alertsFile);
        var requests = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var ids = requests.SelectMany(r => JsonDocument.Parse(r.GetProperty("body").GetString()!).RootElement.EnumerateArray().Select(i => i.GetProperty("id").GetString())).Distinct().ToList();
        output.WriteLine($"incidents written: {written.Count}; requests before the receiver returned: {receivedDuringOutage}; incidents received: {ids.Count} distinct in {requests.Count} requests");
        Assert.Equal(0, receivedDuringOutage);
        Assert.True(written.Count(i => i.GetProperty("kind").GetString() == "detection") == 7, $"{written.Count} incidents written for 7 attacks");
        Assert.Equal(written.Select(i => i.GetProperty("id").GetString()).Order(), ids.Order()); // zero lost
        // Signed over "<timestamp>.<body>", as a receiver checks it (and refuses stale timestamps: replays).
        Assert.All(requests, r => Assert.Equal(
            "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(r.GetProperty("ts").GetString() + "." + r.GetProperty("body").GetString()!))),
            r.GetProperty("sig").GetString()));
        Assert.All(requests, r => Assert.InRange(long.Parse(r.GetProperty("ts").GetString()!, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        Assert.Contains("Sink webhook: delivery of", sentinel.Stderr, StringComparison.Ordinal); // the outage was real
        Assert.Contains("Sink webhook recovered", sentinel.Stderr, StringComparison.Ordinal);
        dir.Delete(recursive: true);
    }
}
