package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
)

// reportCmd prints every participant's net position per asset over a height
// range (GET /v1/report): settlectl report [-node URL] [-account ADDRESS] [-json] FROM TO
func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	nf := addNodeFlags(fs)
	account := fs.String("account", "", "only this account's positions")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("report takes two heights, FROM and TO (inclusive)")
	}
	from, err1 := strconv.ParseUint(fs.Arg(0), 10, 64)
	to, err2 := strconv.ParseUint(fs.Arg(1), 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("heights %q and %q must be decimal integers", fs.Arg(0), fs.Arg(1))
	}
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	if *account != "" {
		q.Set("account", *account)
	}
	c, err := nf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	b, err := c.Raw(ctx, "/v1/report?"+q.Encode())
	if err != nil {
		return err
	}
	if *asJSON {
		fmt.Println(string(b))
		return nil
	}
	return printReport(os.Stdout, b)
}

type reportJSON struct {
	From      uint64 `json:"from"`
	To        uint64 `json:"to"`
	Positions []struct {
		Account          string `json:"account"`
		Asset            string `json:"asset"`
		Credited         string `json:"credited"`
		Debited          string `json:"debited"`
		Net              string `json:"net"`
		ReleasedCredited string `json:"released_credited"`
		ReleasedDebited  string `json:"released_debited"`
		OffsetCredited   string `json:"offset_credited"`
		OffsetDebited    string `json:"offset_debited"`
	} `json:"positions"`
}

// printReport renders the API's report answer as a table; when the RTGS
// queue settled anything in the range, with the parts of credited and
// debited that it released and offset (the rest settled at once).
func printReport(w io.Writer, b []byte) error {
	var rep reportJSON
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("report answer: %w", err)
	}
	queue := false
	for _, p := range rep.Positions {
		for _, v := range []string{p.ReleasedCredited, p.ReleasedDebited, p.OffsetCredited, p.OffsetDebited} {
			queue = queue || (v != "" && v != "0")
		}
	}
	fmt.Fprintf(w, "net positions, heights %d to %d\n", rep.From, rep.To)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if !queue {
		fmt.Fprintln(tw, "account\tasset\tcredited\tdebited\tnet\t")
		for _, p := range rep.Positions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", p.Account, p.Asset, p.Credited, p.Debited, p.Net)
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, "account\tasset\tcredited\tdebited\tnet\treleased in\treleased out\toffset in\toffset out\t")
	for _, p := range rep.Positions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.Account, p.Asset, p.Credited, p.Debited, p.Net,
			p.ReleasedCredited, p.ReleasedDebited, p.OffsetCredited, p.OffsetDebited)
	}
	return tw.Flush()
}
