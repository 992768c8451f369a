using Microsoft.Playwright;

namespace MessTools.Tests.Infrastructure;

/// <summary>
/// The Debian chromium, driven by Playwright (its own browser download cannot work on this project's machines).
/// A test project that uses it references Microsoft.Playwright and compiles this file explicitly
/// (tests/Shared/Browser/ is not part of the tests/Shared/*.cs glob, so projects without browser tests need no Playwright).
/// <code>await using var chrome = await HeadlessChromium.StartAsync(); var page = await chrome.Browser.NewPageAsync();</code>
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public IPlaywright Playwright { get; }
    public IBrowser Browser { get; }

    private HeadlessChromium(IPlaywright playwright, IBrowser browser) { Playwright = playwright; Browser = browser; }

    /// <summary>The chromium binary: $MESS_CHROMIUM, else chromium on PATH. Missing is an error that says how to install it.</summary>
    public static string ExecutablePath()
    {
        string? configured = Environment.GetEnvironmentVariable("MESS_CHROMIUM");
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "chromium");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("chromium is not installed: apt-get install chromium (.ci/run installs it).");
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath(),
                Headless = true,
                // Root on a machine with no network: no sandbox, and no background connections that would be refused.
                Args = new[]
                {
                    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                },
            });
            return new HeadlessChromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
    }
}
