package loadgen

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes results as one table: operation, target, req/s, p50, p99,
// max, errors and, with more than one target, each row's req/s as a
// multiple of the baseline target's for the same operation. Reasons for
// skipped rows and first errors follow the table.
func Print(w io.Writer, results []Result, baseline string) error {
	targets := map[string]bool{}
	base := map[string]float64{}
	for _, r := range results {
		targets[r.Target] = true
		if r.Target == baseline && r.Skipped == "" {
			base[r.Operation] = r.Rate()
		}
	}
	ratio := len(targets) > 1
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "operation\ttarget\treq/s\tp50\tp99\tmax\terrors\t"
	if ratio {
		head += "× " + baseline + "\t"
	}
	fmt.Fprintln(tw, head)
	var notes []string
	for _, r := range results {
		if r.Skipped != "" {
			row := fmt.Sprintf("%s\t%s\t-\t-\t-\t-\t-\t", r.Operation, r.Target)
			if ratio {
				row += "-\t"
			}
			fmt.Fprintln(tw, row)
			notes = append(notes, fmt.Sprintf("%s on %s: skipped, %s", r.Operation, r.Target, r.Skipped))
			continue
		}
		row := fmt.Sprintf("%s\t%s\t%.1f\t%s\t%s\t%s\t%d\t", r.Operation, r.Target, r.Rate(), ms(r.P50), ms(r.P99), ms(r.Max), r.Errors)
		if ratio {
			if b := base[r.Operation]; b > 0 {
				row += fmt.Sprintf("%.1f\t", r.Rate()/b)
			} else {
				row += "-\t"
			}
		}
		fmt.Fprintln(tw, row)
		if r.FirstError != "" {
			notes = append(notes, fmt.Sprintf("%s on %s: first error: %s", r.Operation, r.Target, r.FirstError))
		}
		if r.RanOut {
			notes = append(notes, fmt.Sprintf("%s on %s: used up its key pairs after %s", r.Operation, r.Target, r.Elapsed.Round(time.Millisecond)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		_, err := fmt.Fprintln(w, strings.Join(notes, "\n"))
		return err
	}
	return nil
}

// ms formats a latency in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
