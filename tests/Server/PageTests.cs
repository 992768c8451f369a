using MessTools.Core.Index;
using MessTools.Tests.Server.Infrastructure;
using Microsoft.Playwright;

namespace MessTools.Tests.Server;

/// <summary>The page at / in the real (Debian) chromium, headless, against the server on a loopback port.</summary>
[Collection("artifacts")]
public sealed class PageTests(ArtifactsFixture art)
{
    [Fact]
    public async Task Search_click_through_neighbours_toggle_album_open_the_report_and_render_something()
    {
        await using var server = await RunningServer.StartAsync(art.Builtin.Root);
        await using var chrome = await HeadlessChromium.StartAsync();
        var context = await chrome.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1100, Height = 800 } });
        var page = await context.NewPageAsync();
        var external = new List<string>();
        page.Request += (_, r) => { if (!r.Url.StartsWith(server.BaseUrl, StringComparison.Ordinal) && !r.Url.StartsWith("blob:", StringComparison.Ordinal)) external.Add(r.Url); };
        await page.GotoAsync(server.BaseUrl + "/");
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("62 tracks loaded");

        // Suggestions follow what is typed.
        await page.Locator("#search").FillAsync("trk-01");
        var suggestions = await page.Locator("#suggestions option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"trk-{i:D3}"), suggestions);
        await page.Locator("#search").FillAsync("chopin");
        var chopin = await page.Locator("#suggestions option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        Assert.Equal(new[] { "trk-003", "trk-013", "trk-023", "trk-033", "trk-043", "trk-053" }, chopin);

        // Search a track: its neighbours with similarity, composer and album.
        var finder = NeighborFinder.Open(art.Builtin);
        await page.Locator("#search").FillAsync("trk-013");
        await page.Locator("#search").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync("trk-013");
        await AssertRowsAsync(page, finder, "trk-013", excludeAlbum: false);
        var firstRow = page.Locator("#neighbors tbody tr").First;
        Assert.Matches(@"^0\.\d{4}$", (await firstRow.Locator("td.sim").InnerTextAsync()).Trim());

        // Click through: neighbour, then a neighbour of the neighbour.
        for (int hop = 0; hop < 2; hop++)
        {
            var link = page.Locator("#neighbors tbody tr a.track").Nth(hop + 1);
            string next = await link.InnerTextAsync();
            await link.ClickAsync();
            await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync(next);
            await AssertRowsAsync(page, finder, next, excludeAlbum: false);
        }

        // Same-album exclusion.
        string current = await page.Locator("#query-title").InnerTextAsync();
        await page.Locator("#exclude-album").CheckAsync();
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("same album excluded");
        await AssertRowsAsync(page, finder, current, excludeAlbum: true);

        // A screenshot that is not blank (decoded by the browser itself).
        byte[] png = await page.ScreenshotAsync(new() { FullPage = true });
        var probe = await context.NewPageAsync();
        var (dark, colours) = await Pixels(probe, png);
        Assert.True(dark > 2000, $"only {dark} non-white pixels");
        Assert.True(colours > 8, $"only {colours} colours");

        // The evaluation report, served as written.
        var popup = await page.RunAndWaitForPopupAsync(() => page.Locator("#report-link").ClickAsync());
        await popup.WaitForLoadStateAsync();
        Assert.Contains("/eval/report.html", popup.Url);
        string served = await popup.EvaluateAsync<string>("() => document.documentElement.outerHTML");
        string title = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(art.Builtin.EvalDir, "report.html")), "<title>(.*?)</title>").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(title));
        Assert.Equal(System.Net.WebUtility.HtmlDecode(title), await popup.TitleAsync());
        Assert.Contains("<table", served);
        Assert.Empty(external);
    }

    [Fact]
    public async Task A_researcher_searches_by_composer_filters_walks_back_and_queries_from_the_map()
    {
        await using var server = await RunningServer.StartAsync(art.Builtin.Root);
        await using var chrome = await HeadlessChromium.StartAsync();
        var context = await chrome.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1400, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(server.BaseUrl + "/");
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("62 tracks loaded");
        var finder = NeighborFinder.Open(art.Builtin);

        // Enter on a composer's name lists that composer's tracks instead of failing as an unknown id.
        await page.Locator("#search").FillAsync("Chopin");
        await page.Locator("#search").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#matches-title")).ToHaveTextAsync("6 tracks match 'Chopin'");
        var matches = await page.Locator("#match-list a.track").AllInnerTextsAsync();
        Assert.Equal(new[] { "trk-003", "trk-013", "trk-023", "trk-033", "trk-043", "trk-053" }, matches);
        await page.Locator("#match-list a.track").First.ClickAsync();
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync("trk-003");
        await AssertRowsAsync(page, finder, "trk-003", excludeAlbum: false);
        Assert.True(await page.Locator("#matches").IsHiddenAsync());
        // A title finds its track at once.
        await page.Locator("#search").FillAsync("Piece 17");
        await page.Locator("#search").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync("trk-017");

        // The composer filter.
        await page.Locator("#composer").FillAsync("Liszt");
        await page.Locator("#composer").DispatchEventAsync("change");
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("by Liszt");
        var composers = await page.Locator("#neighbors tbody tr td:nth-child(5)").AllInnerTextsAsync();
        Assert.Equal(5, composers.Count);
        Assert.All(composers, c => Assert.Equal("Liszt", c.Trim()));
        await page.Locator("#composer").FillAsync("");
        await page.Locator("#composer").DispatchEventAsync("change");
        await Assertions.Expect(page.Locator("#status")).Not.ToContainTextAsync("by Liszt");

        // Back and Forward walk the tracks visited.
        string next = await page.Locator("#neighbors tbody tr a.track").Nth(1).InnerTextAsync();
        await page.Locator("#neighbors tbody tr a.track").Nth(1).ClickAsync();
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync(next);
        await page.GoBackAsync();
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync("trk-017");
        await page.GoBackAsync();
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync("trk-003");
        await page.GoForwardAsync();
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync("trk-017");

        // The map: every track, coloured by composer (one colour per composer), the query ringed; hover shows the title,
        // a click queries the point.
        var points = page.Locator("#map circle.point");
        await Assertions.Expect(points).ToHaveCountAsync(62);
        var fills = await points.EvaluateAllAsync<string[]>("cs => cs.map(c => c.dataset.trackId + '=' + c.getAttribute('fill'))");
        var colourOf = fills.Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        Assert.Equal(10, colourOf.Values.Distinct().Count());
        Assert.Equal(colourOf["trk-003"], colourOf["trk-013"]);
        Assert.NotEqual(colourOf["trk-003"], colourOf["trk-004"]);
        await Assertions.Expect(page.Locator("#map circle.query")).ToHaveCountAsync(1);
        Assert.Equal("trk-017", await page.Locator("#map circle.query").GetAttributeAsync("data-track-id"));
        await Assertions.Expect(page.Locator("#map circle.neighbor")).ToHaveCountAsync(5);
        var target = page.Locator("#map circle.point[data-track-id='trk-041']");
        await target.HoverAsync(new() { Force = true });
        await Assertions.Expect(page.Locator("#map-tip")).ToContainTextAsync("Piece 41");
        string shot = Path.Combine(AppContext.BaseDirectory, "page-map.png");
        await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
        await target.ClickAsync(new() { Force = true });
        await Assertions.Expect(page.Locator("#query-title")).ToHaveTextAsync("trk-041");
        await AssertRowsAsync(page, finder, "trk-041", excludeAlbum: false);
        Assert.True(new FileInfo(shot).Length > 10_000);
    }

    private static async Task AssertRowsAsync(IPage page, NeighborFinder finder, string query, bool excludeAlbum)
    {
        var expected = finder.ByTrackId(query, new NeighborQuery { K = 5, ExcludeSameAlbum = excludeAlbum });
        var rows = page.Locator("#neighbors tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(5);
        await Assertions.Expect(rows.First.Locator("a.track")).ToHaveTextAsync(expected[0].TrackId);
        var cells = await rows.EvaluateAllAsync<string[][]>("rs => rs.map(r => [...r.cells].map(c => c.innerText.trim()))");
        Assert.Equal(expected.Select(r => r.TrackId), cells.Select(c => c[1]));
        Assert.Equal(expected.Select(r => r.Title), cells.Select(c => c[2]));
        Assert.Equal(expected.Select(r => r.Similarity.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)), cells.Select(c => c[3]));
        Assert.Equal(expected.Select(r => r.Composer), cells.Select(c => c[4]));
        Assert.Equal(expected.Select(r => r.AlbumId), cells.Select(c => c[5]));
    }

    private static async Task<(int Dark, int Colours)> Pixels(IPage probe, byte[] png)
    {
        var r = await probe.EvaluateAsync<int[]>(@"async (b64) => {
            const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
            const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
            const x = c.getContext('2d'); x.drawImage(img, 0, 0);
            const d = x.getImageData(0, 0, c.width, c.height).data;
            let dark = 0; const colours = new Set();
            for (let i = 0; i < d.length; i += 4) {
                if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) dark++;
                if (colours.size < 1000) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
            }
            return [dark, colours.size];
        }", Convert.ToBase64String(png));
        return (r[0], r[1]);
    }
}
