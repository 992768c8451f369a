using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace MessTools.Tests.Module.Infrastructure;

/// <summary>
/// A TCP proxy on loopback in front of a server (moto) that forwards HTTP/1.1 traffic unchanged, except that it holds the
/// <see cref="HoldAt"/>-th request whose "METHOD path" matches <see cref="Hold"/>: that request is never forwarded, and
/// <see cref="Held"/> is set. A test then kills the client process at that exact point of its run.
/// </summary>
public sealed partial class HoldingProxy : IDisposable
{
    private readonly TcpListener _listener;
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private int _matches;

    public Regex? Hold { get; set; }
    public int HoldAt { get; set; } = 1;
    public ManualResetEventSlim Held { get; } = new(false);
    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public HoldingProxy(int targetPort)
    {
        _target = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoop();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Serve(client);
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var c = client;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var up = Pump(c.GetStream(), server.GetStream(), inspect: true);
            var down = Pump(server.GetStream(), c.GetStream(), inspect: false);
            await Task.WhenAny(up, down);
        }
        catch (Exception) { }
    }

    private async Task Pump(Stream from, Stream to, bool inspect)
    {
        var buf = new byte[1 << 16];
        try
        {
            while (true)
            {
                int n = await from.ReadAsync(buf, _stop.Token);
                if (n == 0) return;
                if (inspect && Hold is { } hold)
                {
                    foreach (Match m in RequestLine().Matches(Encoding.Latin1.GetString(buf, 0, n)))
                        if (hold.IsMatch(m.Groups[1].Value + " " + m.Groups[2].Value) && Interlocked.Increment(ref _matches) == HoldAt)
                        {
                            Held.Set();
                            await Task.Delay(Timeout.Infinite, _stop.Token); // never forwarded
                        }
                }
                await to.WriteAsync(buf.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception) { }
    }

    [GeneratedRegex(@"(?m)^(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP/1\.1\r$")]
    private static partial Regex RequestLine();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        Held.Dispose();
    }
}
