package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

const auditUsage = `Usage: keyhaven audit [serve flags] list|verify

  list     print the audit log: every private-key reveal and escrow change,
           and every associate/disassociate of a key pair with a server
           (SERVER, TASK, RESULT; DETAIL says why a task failed)
  verify   recompute the hash chain; exit non-zero at the first broken link
`

// auditCommand runs `keyhaven audit list|verify`.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return errors.New("audit: want list or verify")
	}
	verb := args[len(args)-1]
	cfg, err := loadConfig("keyhaven audit", args[:len(args)-1], getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch verb {
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME\tACTION\tUSER\tPROJECT\tKEY PAIR\tID\tREMOTE\tREQUEST\tSERVER\tTASK\tRESULT\tDETAIL")
		err := walkAudit(ctx, st, func(e *keypair.AuditEntry) error {
			detail := ""
			if e.Detail != "" {
				// Quoted: it may hold what a server printed, tabs and all.
				detail = strconv.Quote(e.Detail)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Action,
				e.UserID, e.ProjectID, e.KeyPairName, e.KeyPairID, e.RemoteAddr, e.RequestID,
				e.ServerID, e.TaskID, e.Result, detail)
			return nil
		})
		if ferr := tw.Flush(); err == nil {
			err = ferr
		}
		return err
	case "verify":
		n, err := verifyAudit(ctx, st)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "audit log intact: %d entries, hash chain verified\n", n)
		return nil
	}
	fmt.Fprint(stderr, auditUsage)
	return fmt.Errorf("audit: unknown command %q", verb)
}

// walkAudit calls f for every audit entry in order.
func walkAudit(ctx context.Context, st keypair.Store, f func(*keypair.AuditEntry) error) error {
	var after int64
	for {
		batch, err := st.ListAudit(ctx, after, 500)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, e := range batch {
			if err := f(e); err != nil {
				return err
			}
			after = e.Seq
		}
	}
}

// verifyAudit recomputes the chain: each entry must follow the previous
// one without a gap, link to its hash, and hash to what it says.
func verifyAudit(ctx context.Context, st keypair.Store) (int, error) {
	prev := make([]byte, 32)
	var n int64
	err := walkAudit(ctx, st, func(e *keypair.AuditEntry) error {
		switch {
		case e.Seq != n+1:
			return fmt.Errorf("audit log broken at entry %d: expected entry %d (entries missing)", e.Seq, n+1)
		case !bytes.Equal(e.PrevHash, prev):
			return fmt.Errorf("audit log broken at entry %d: it does not link to entry %d", e.Seq, n)
		case !bytes.Equal(e.Hash, e.ComputeHash(prev)):
			return fmt.Errorf("audit log broken at entry %d: its content does not match its hash (altered)", e.Seq)
		}
		prev, n = e.Hash, e.Seq
		return nil
	})
	return int(n), err
}
