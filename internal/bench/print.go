package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes the figures as the README shows them.
func (r *Result) Print(w io.Writer) {
	sync := "fsync every 1s"
	if r.SyncInterval > 0 {
		sync = "fsync every " + r.SyncInterval.String()
	}
	if r.SyncAlways {
		sync = "fsync every write"
	}
	fmt.Fprintf(w, "switchyard bench on %s\n", r.Machine)
	fmt.Fprintf(w, "%d rules loaded; source %s (%s); %d keep-alive connections; %s per phase; store: %s\n\n",
		r.Rules, r.Source, r.Vendor, r.Connections, r.Duration, sync)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\trequests/s\tvs bare\tack p50\tp90\tp99\tmax\tnon-2xx\terrors\t")
	row := func(name string, p Phase) {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%d\t%d\t\n", name, count(p.RPS), ratio(p.RPS, r.Baseline.RPS),
			ms(p.P50), ms(p.P90), ms(p.P99), ms(p.Max), p.Non2xx, p.Errors)
	}
	row("bare net/http (read body, 202)", r.Baseline)
	row("store alone (read body, store, 202)", r.StoreAlone)
	row("switchyard ingest alone (verify, store, 202)", r.IngestAlone)
	row("switchyard ingest, pipeline running", r.Ingest)
	rate := "half rate"
	if r.RateSet {
		rate = "--rate"
	}
	row(fmt.Sprintf("switchyard at %s (%s/s)", rate, count(r.Rate)), r.HalfRate)
	row(fmt.Sprintf("switchyard during a reload (%s/s)", count(r.Rate)), r.Reload)
	tw.Flush()
	for _, p := range []Phase{r.Baseline, r.StoreAlone, r.IngestAlone, r.Ingest, r.HalfRate, r.Reload} {
		if p.LastErr != "" || p.Non2xx > 0 {
			fmt.Fprintf(w, "  statuses %v; last error: %s\n", p.Statuses, p.LastErr)
		}
	}

	fmt.Fprintf(w, "\nthe ack path alone ran at %.2f of the store alone's requests/s (rounds of %s taking turns)\n",
		ratio(r.IngestAlone.RPS, r.StoreAlone.RPS), (r.Duration / rounds).Round(time.Millisecond))
	fmt.Fprintf(w, "end to end (202 -> http action at the sink) at %s, %d events: p50 %s  p90 %s  p99 %s  max %s\n",
		rate, r.E2E.N, ms(r.E2E.P50), ms(r.E2E.P90), ms(r.E2E.P99), ms(r.E2E.Max))
	fmt.Fprintf(w, "delivery: a backlog of %d events reached the sink in %s once the pipeline started: %s events/s (%.2f of bare requests/s)\n",
		r.Backlog, r.BacklogTook.Round(time.Millisecond), count(r.DeliveryRate()), ratio(r.DeliveryRate(), r.Baseline.RPS))
	fmt.Fprintf(w, "deliveries of the ingest phase with the pipeline running done %s after its last 202\n", r.Drain.Round(time.Millisecond))
	reload := fmt.Sprintf("reload of %d rules under load: took %s; failed requests %d; slowest ack in flight during it %s",
		r.ReloadRules, r.ReloadTook.Round(time.Millisecond), r.ReloadFailed, ms(r.ReloadMaxAck))
	if r.ReloadErr != "" {
		reload += "; RELOAD FAILED: " + firstLine(r.ReloadErr)
	}
	fmt.Fprintln(w, reload)
	fmt.Fprintf(w, "matching (in-process, one goroutine, medians of 50 rounds taking turns): %s events/s with %d rules, %s with %d: ratio %.2f\n",
		count(r.MatchRate[0]), r.MatchRules[0], count(r.MatchRate[1]), r.MatchRules[1], r.MatchRatio())
	if r.Undelivered == 0 {
		fmt.Fprintf(w, "delivered: all %d acknowledged events reached the sink\n", r.Acked)
	} else {
		fmt.Fprintf(w, "delivered: %d of %d acknowledged events NEVER reached the sink\n", r.Undelivered, r.Acked)
	}
	if r.Serve.Rules > 0 {
		fmt.Fprintf(w, "memory of switchyard serve (fresh process, %d rules, idle %s after ready in %s): RSS %s (peak %s)\n",
			r.Serve.Rules, r.Serve.Idle, r.Serve.Ready.Round(time.Millisecond), mb(r.Serve.RSS), mb(r.Serve.Peak))
	}
	fmt.Fprintf(w, "memory of this harness in-process (router, embedded NATS, load generator and sink): peak RSS %s; idle with %d rules loaded %s (Go heap %s)\n",
		mb(r.PeakRSS), r.IdleRulesLoaded, mb(r.IdleRSS), mb(r.IdleHeap))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func mb(b uint64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
}

// count writes n with thousands separators.
func count(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
