using System.Net;
using System.Net.Sockets;

namespace MessTools.Tests.Infrastructure;

/// <summary>A free TCP port on 127.0.0.1 for a service a fixture starts.</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
