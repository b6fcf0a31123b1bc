using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>What a page showed a browser: its images (source, loaded width) and the errors it logged.</summary>
public sealed record PageCheck(IReadOnlyList<(string Source, bool Complete, int NaturalWidth)> Images, IReadOnlyList<string> Errors);

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c>) driven over the DevTools protocol on a loopback WebSocket
/// (<c>--remote-debugging-port=0</c>: the browser picks a free port and prints it). Opens a page, waits for its load
/// event (every image loaded or failed by then), reads the images' natural sizes with a script, collects console
/// errors, uncaught exceptions and the browser's own error log (a missing file is logged there), and takes a
/// screenshot of the whole page. Every wait is for a message from the browser, with a generous ceiling; nothing sleeps.
/// </summary>
public sealed partial class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly Dictionary<int, TaskCompletionSource<JsonElement>> _pending = [];
    private readonly List<JsonElement> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync(string executable)
    {
        var profile = Directory.CreateTempSubdirectory("chromium-profile-").FullName;
        var psi = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        // --no-sandbox: CI runs as root, where Chromium refuses its sandbox; the pages are our own files.
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank" })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi)!;
        var browser = new HeadlessChromium(process, profile);
        try
        {
            // The browser prints its DevTools endpoint once it listens.
            var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var log = new StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    endpoint.TrySetException(new InvalidOperationException("chromium exited before listening: " + log));
                    return;
                }

                lock (log)
                {
                    log.AppendLine(e.Data);
                }

                if (Endpoint().Match(e.Data) is { Success: true } m)
                {
                    endpoint.TrySetResult(m.Groups[1].Value);
                }
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var url = await endpoint.Task.WaitAsync(Ceiling);
            using var connect = new CancellationTokenSource(Ceiling);
            await browser._socket.ConnectAsync(new Uri(url), connect.Token);
            browser._receiving = Task.Run(browser.ReceiveAsync);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens <paramref name="file"/> in a new tab, checks it after its load event and saves a full-page screenshot.</summary>
    public async Task<PageCheck> CheckAsync(string file, string screenshot)
    {
        var target = await SendAsync("Target.createTarget", new { url = "about:blank" });
        var attached = await SendAsync("Target.attachToTarget", new { targetId = target.GetProperty("targetId").GetString(), flatten = true });
        var session = attached.GetProperty("sessionId").GetString()!;
        foreach (var domain in new[] { "Page.enable", "Runtime.enable", "Log.enable" })
        {
            await SendAsync(domain, new { }, session);
        }

        await SendAsync("Emulation.setDeviceMetricsOverride", new { width = 1600, height = 1000, deviceScaleFactor = 1, mobile = false }, session);
        await SendAsync("Page.navigate", new { url = new Uri(file).AbsoluteUri }, session);
        await WaitForEventAsync("Page.loadEventFired", session);

        const string Script = "JSON.stringify(Array.from(document.images).map(i => ({ src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth })))";
        var result = await SendAsync("Runtime.evaluate", new { expression = Script, returnByValue = true }, session);
        var images = JsonDocument.Parse(result.GetProperty("result").GetProperty("value").GetString()!).RootElement.EnumerateArray()
            .Select(i => (i.GetProperty("src").GetString() ?? "", i.GetProperty("complete").GetBoolean(), i.GetProperty("width").GetInt32()))
            .ToList();

        // The whole page in one picture: the viewport grown to the content's height.
        var metrics = await SendAsync("Page.getLayoutMetrics", new { }, session);
        var height = (int)Math.Ceiling(metrics.GetProperty("cssContentSize").GetProperty("height").GetDouble());
        await SendAsync("Emulation.setDeviceMetricsOverride", new { width = 1600, height = Math.Clamp(height, 200, 16000), deviceScaleFactor = 1, mobile = false }, session);
        var shot = await SendAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true }, session);
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await File.WriteAllBytesAsync(screenshot, Convert.FromBase64String(shot.GetProperty("data").GetString()!));

        return new PageCheck(images, Errors(session));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync(new CancellationTokenSource(Ceiling).Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Already gone.
        }

        try
        {
            await _receiving;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The socket closes with the browser.
        }

        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be writing its profile as it dies; a temp folder left behind is harmless.
        }
    }

    /// <summary>Console errors, uncaught exceptions and error entries of the browser's log, for one tab.</summary>
    private List<string> Errors(string session)
    {
        lock (_events)
        {
            return _events.Where(e => e.TryGetProperty("sessionId", out var s) && s.GetString() == session).Select(e =>
            {
                var p = e.GetProperty("params");
                return e.GetProperty("method").GetString() switch
                {
                    "Runtime.consoleAPICalled" when p.GetProperty("type").GetString() is "error" or "assert" => "console: " + p.GetProperty("args").ToString(),
                    "Runtime.exceptionThrown" => "exception: " + p.GetProperty("exceptionDetails").ToString(),
                    "Log.entryAdded" when p.GetProperty("entry").GetProperty("level").GetString() == "error" => "log: " + p.GetProperty("entry").GetProperty("text").GetString() + " " + (p.GetProperty("entry").TryGetProperty("url", out var u) ? u.GetString() : ""),
                    _ => null,
                };
            }).OfType<string>().ToList();
        }
    }

    private async Task<JsonElement> SendAsync(string method, object parameters, string? session = null)
    {
        TaskCompletionSource<JsonElement> reply = new(TaskCreationOptions.RunContinuationsAsynchronously);
        int id;
        lock (_pending)
        {
            id = ++_nextId;
            _pending[id] = reply;
        }

        var message = session is null ? JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters }) : JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters, sessionId = session });
        await _socket.SendAsync(message, WebSocketMessageType.Text, true, _stop.Token);
        return await reply.Task.WaitAsync(Ceiling);
    }

    private async Task WaitForEventAsync(string method, string session)
    {
        using var deadline = new CancellationTokenSource(Ceiling);
        while (true)
        {
            Task changed;
            lock (_events)
            {
                if (_events.Any(e => e.GetProperty("method").GetString() == method && e.TryGetProperty("sessionId", out var s) && s.GetString() == session))
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(deadline.Token);
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
        {
            var r = await _socket.ReceiveAsync(buffer, _stop.Token);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            message.Write(buffer, 0, r.Count);
            if (!r.EndOfMessage)
            {
                continue;
            }

            var root = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
            message.SetLength(0);
            if (root.TryGetProperty("id", out var idElement))
            {
                TaskCompletionSource<JsonElement>? reply;
                lock (_pending)
                {
                    _pending.Remove(idElement.GetInt32(), out reply);
                }

                if (root.TryGetProperty("error", out var error))
                {
                    reply?.TrySetException(new InvalidOperationException("DevTools: " + error));
                }
                else
                {
                    reply?.TrySetResult(root.GetProperty("result"));
                }

                continue;
            }

            lock (_events)
            {
                _events.Add(root);
                var changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult();
            }
        }
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex Endpoint();
}
