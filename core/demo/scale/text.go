package scale

import (
	"math/rand/v2"
	"strings"

	"github.com/pleinhq/plein/core/uid"
)

// Words are for generated Dutch text, most used first: a Zipf draw over them makes a
// few words common and most rare, as in real text, so searches for common and rare
// words both find something. The content benchmarks draw from them too.
var Words = strings.Fields(`de het een van en in op voor met is dat te niet zijn aan er
	gemeente project planning vergadering team overleg update week nieuwe afdeling medewerkers
	werk vraag informatie afspraak document versie budget begroting rapport beleid besluit
	inwoners dienstverlening wijk centrum straat parkeren verkeer fiets bouw woningbouw
	vergunning aanvraag subsidie melding afval groen onderhoud speeltuin sportpark bibliotheek
	helpdesk laptop printer wachtwoord account wifi vpn telefoon software licentie storing
	meeting deadline roadmap review sprint backlog feedback presentatie workshop training
	college wethouder raad raadsvoorstel commissie inspraak participatie zienswijze bezwaar
	paspoort rijbewijs uittreksel verhuizing geboorte huwelijk burgerzaken balie loket
	jeugd zorg wmo participatiewet schuldhulp armoede onderwijs sport cultuur evenement
	klimaat energie zonnepanelen warmtepomp isolatie duurzaamheid riolering water dijk
	archief privacy avg beveiliging risico audit controle jaarrekening factuur inkoop aanbesteding
	personeel vacature sollicitatie verlof ziekte thuiswerken kantoor lunch borrel verjaardag
	kerst vakantie jubileum afscheid welkom collega directie managementteam secretariaat agenda
	notulen actiepunten memo brief mail bericht nieuws website intranet sociale media pers
	kaart tekening bestemmingsplan omgevingswet omgevingsplan ruimtelijke ordening grond kavel
	gemeentehuis verbouwing aannemer architect oplevering sleutel pas`)

// RareWord is in a few dozen seeded items only (about 40 in 100,000), for searches
// that find little.
const RareWord = "kademuur"

// writer makes text from words.
type writer struct {
	rng  *rand.Rand
	zipf *rand.Zipf
}

func newWriter(rng *rand.Rand) *writer {
	return &writer{rng: rng, zipf: rand.NewZipf(rng, 1.07, 2, uint64(len(Words)-1))}
}

// sentence returns n words, the first capitalised, ending in a full stop.
func (w *writer) sentence(n int) string {
	var b strings.Builder
	for i := range max(n, 1) {
		word := Words[w.zipf.Uint64()]
		if i == 0 {
			word = strings.ToUpper(word[:1]) + word[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(word)
	}
	b.WriteByte('.')
	return b.String()
}

// tag returns a word fit for a #tag: a topic word, not a stop word.
func (w *writer) tag() string { return Words[20+w.rng.IntN(60)] }

// newID is where seeded rows get their ids: the same as the services'.
var newID = uid.New
