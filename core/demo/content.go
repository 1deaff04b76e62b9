package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/pleinhq/plein/core/content"
)

// seedContent writes some of what the organisation would have written: news, posts in
// the department spaces, a knowledge map, helpdesk questions with answers in comments.
func seedContent(ctx context.Context, c *content.Service, org *Org, people []person) error {
	if c == nil {
		return nil
	}
	id := func(email string) string { return org.Users[email].ID }
	space := func(name string) string { return org.Spaces[name].ID }
	// One author per department: its head.
	heads := map[string]string{}
	var comms, it string
	for _, p := range people {
		if p.head {
			heads[p.dept] = p.email
		}
		if p.dept == "dept-communications" && comms == "" {
			comms = p.email
		}
	}
	for _, p := range people {
		if p.dept == "dept-it" && p.email != "helpdesk@"+Domain && strings.Contains(strings.Join(p.roles, ","), "helpdesk") {
			it = p.email
			break
		}
	}
	handle := func(email string) string { return "@" + strings.SplitN(email, "@", 2)[0] }
	var made int
	post := func(author, spaceName, kind, title, body string) (content.Item, error) {
		item, err := c.Create(ctx, id(author), space(spaceName), content.NewItem{Kind: kind, Title: title, Body: body})
		if err != nil {
			return item, fmt.Errorf("demo %s %q: %w", kind, title, err)
		}
		made++
		return item, nil
	}
	comment := func(author string, item content.Item, body string) error {
		if _, err := c.AddComment(ctx, id(author), item.ID, body, nil); err != nil {
			return fmt.Errorf("demo comment: %w", err)
		}
		return nil
	}

	news := []struct{ title, body string }{
		{"Nieuw gemeentehuis: de bouw begint", "Op 1 december start de bouw van het nieuwe gemeentehuis. Lees alles in de projectruimte. #gemeentehuis #bouw"},
		{"Intranet Plein is live", "Vanaf vandaag werken we samen op **Plein**. Vragen? Stel ze aan de IT-helpdesk. #plein"},
		{"Kerstborrel 18 december", "De personeelsvereniging nodigt iedereen uit in de raadszaal. #personeelsvereniging"},
		{"Nieuwe huisstijl", "Communicatie heeft de nieuwe sjablonen klaargezet in de Kennisbank. #huisstijl"},
	}
	for _, n := range news {
		if _, err := post(comms, "Nieuws & mededelingen", content.KindNews, n.title, n.body); err != nil {
			return err
		}
	}
	for _, d := range departments {
		author := heads[d.name]
		if author == "" {
			continue
		}
		item, err := post(author, d.title, content.KindPost, "", fmt.Sprintf("Welkom in de ruimte van %s. Het werkoverleg is op dinsdag om 9:30. #werkoverleg", d.title))
		if err != nil {
			return err
		}
		if err := comment(author, item, "De agenda volgt maandag."); err != nil {
			return err
		}
	}
	finance := heads["dept-finance"]
	if _, err := post("employee@"+Domain, "Financiën", content.KindPost, "Begroting 2027",
		fmt.Sprintf("De eerste versie van de begroting 2027 staat klaar. %s, wil je de cijfers voor het sociaal domein nakijken? #begroting", handle(finance))); err != nil {
		return err
	}

	// The knowledge map: a small tree of pages.
	kb := "Kennisbank"
	root, err := c.Create(ctx, id(comms), space(kb), content.NewItem{Kind: content.KindPage, Title: "Werken bij de gemeente",
		Body: "Alles wat je nodig hebt voor je werk, van inwerken tot declareren."})
	if err != nil {
		return fmt.Errorf("demo page: %w", err)
	}
	for _, pg := range []struct{ title, body string }{
		{"Inwerken", "Je eerste week: laptop ophalen bij de servicebalie, account activeren, kennismaken met je team."},
		{"Declaraties", "Declareer reiskosten binnen 30 dagen via het personeelsportaal. #declaraties"},
		{"Thuiswerken", "Thuiswerken kan tot drie dagen per week. Gebruik de VPN voor de vakapplicaties. #thuiswerken #vpn"},
	} {
		if _, err := c.Create(ctx, id(comms), space(kb), content.NewItem{Kind: content.KindPage, Title: pg.title, Body: pg.body, ParentID: &root.ID}); err != nil {
			return fmt.Errorf("demo page: %w", err)
		}
	}
	if _, err := c.Create(ctx, id(comms), space(kb), content.NewItem{Kind: content.KindPage, Title: "Huisstijl en sjablonen",
		Body: "Brieven, presentaties en e-mailhandtekeningen in de nieuwe huisstijl. #huisstijl"}); err != nil {
		return fmt.Errorf("demo page: %w", err)
	}

	// The helpdesk: questions from employees, answers from the helpdesk that everyone reads.
	for _, qa := range []struct{ who, title, body, answer string }{
		{"employee@" + Domain, "VPN verbreekt steeds", "Sinds de update valt mijn VPN-verbinding om de paar minuten weg. #vpn",
			"Installeer de nieuwe VPN-client uit het softwarecentrum; daarmee is het opgelost."},
		{"secretary@" + Domain, "Printer op de tweede verdieping", "De printer bij het secretariaat geeft een papierstoring. #printer",
			"We komen vanmiddag langs om de storing te verhelpen."},
		{"project@" + Domain, "Toegang tot de projectschijf", "Ik kan de map van het project Nieuw Gemeentehuis niet openen. #toegang",
			"Je bent toegevoegd aan de projectgroep; log opnieuw in."},
	} {
		item, err := post(qa.who, "IT-helpdesk", content.KindPost, qa.title, qa.body)
		if err != nil {
			return err
		}
		answerer := "helpdesk@" + Domain
		if it != "" && strings.Contains(qa.title, "Printer") {
			answerer = it
		}
		if err := comment(answerer, item, qa.answer); err != nil {
			return err
		}
	}
	if _, err := post("project@"+Domain, "Project Nieuw Gemeentehuis", content.KindPost, "Planning fase 1",
		"De sloop van de oude vleugel is in week 2 klaar. De aannemer levert de planning aan. #planning"); err != nil {
		return err
	}
	if _, err := post("external@"+Domain, "Samenwerking met externen", content.KindPost, "Bouwvergadering",
		"Voorstel: bouwvergadering elke donderdag om 10:00 op de bouwplaats. #bouw"); err != nil {
		return err
	}
	org.Items = made
	return nil
}
