"""Word lists for the sentence generator, grouped by part of speech and topic.

Written compactly as space-separated strings; :func:`words` splits them. Nouns are grouped by what
they are (people, animals, objects, food, places, ideas, events, nature) so that the generator can
pair verbs and adjectives with nouns they fit ("repaired the old bicycle", not "repaired the
river"). Inflection is rule-based; the irregular forms are listed here.
"""
from __future__ import annotations


def words(text: str) -> tuple[str, ...]:
    """Splits a whitespace-separated word list (underscores become spaces: ``ice_cream``)."""
    return tuple(w.replace("_", " ") for w in text.split())


# ----------------------------------------------------------------------------- nouns

PEOPLE = words("""
teacher doctor nurse farmer baker painter writer singer dancer driver pilot sailor soldier
student lawyer judge banker builder carpenter plumber engineer scientist chemist architect
gardener fisherman butcher waiter waitress cook chef manager clerk secretary reporter editor
photographer musician pianist violinist drummer actor actress director producer professor
librarian mechanic electrician firefighter officer detective guard miner tailor merchant
shopkeeper customer traveler tourist visitor neighbor stranger friend cousin uncle aunt nephew
niece grandfather grandmother father mother brother sister husband wife son daughter child boy
girl man woman baby teenager captain coach player runner swimmer climber hunter shepherd
priest monk nun king queen prince princess president mayor governor senator minister
ambassador accountant dentist surgeon pharmacist veterinarian programmer designer inventor
explorer historian poet novelist sculptor potter weaver jeweler translator volunteer
passenger landlord tenant owner partner colleague assistant apprentice beginner expert
champion referee umpire fan critic author narrator speaker listener viewer reader voter
citizen villager farmhand cashier receptionist janitor courier messenger postman porter
lifeguard ranger sheriff witness suspect prisoner thief stranger host guest bride groom
""")

ANIMALS = words("""
dog cat horse cow sheep goat pig rabbit mouse rat hamster fox wolf bear deer moose elk lion
tiger leopard cheetah elephant giraffe zebra camel donkey monkey gorilla kangaroo koala
squirrel beaver otter badger hedgehog bat owl eagle hawk falcon crow raven pigeon sparrow
robin parrot swan duck goose chicken rooster turkey penguin seagull heron frog toad turtle
snake lizard crocodile shark whale dolphin seal salmon trout butterfly bee spider ant beetle
""")

OBJECTS = words("""
book letter box key lamp chair table desk bed sofa mirror clock watch phone camera radio
television computer laptop keyboard screen printer notebook pencil pen brush basket bucket
bottle jar cup mug glass plate bowl spoon fork knife pan pot kettle oven fridge stove blanket
pillow towel curtain carpet rug ladder hammer saw drill shovel rake axe rope chain wire nail
bag suitcase backpack wallet purse umbrella hat coat jacket scarf glove boot shoe sock shirt
dress skirt sweater belt ring necklace bracelet ticket map guitar piano violin drum flute
trumpet ball bat kite toy doll puzzle candle match envelope stamp parcel package newspaper
magazine diary album painting poster photograph sculpture vase statue flag banner sign
fence gate door window shelf cupboard drawer cabinet bench stool cushion helmet badge medal
trophy coin banknote receipt invoice contract passport license certificate diploma
bicycle car truck bus van tractor boat canoe ship train motorcycle scooter wagon cart sled
tent lantern compass telescope microscope battery engine wheel tire anchor sail paddle
""")

FOOD = words("""
apple banana orange pear peach plum cherry lemon melon grape strawberry pineapple mango
tomato potato carrot onion cabbage lettuce cucumber pepper pumpkin mushroom sandwich pizza
pie cake cookie biscuit muffin pancake omelet sausage burger salad soup stew curry pastry
loaf bagel pretzel doughnut cupcake pudding tart waffle taco burrito noodle dumpling
""")

MASS_FOOD = words("""
bread rice pasta cheese butter milk coffee tea juice water soup honey jam chocolate sugar
salt flour yogurt cream cereal popcorn toast lemonade chicken fish beef bacon porridge
""")

PLACES = words("""
kitchen garden station library market village town city harbor port bridge river lake beach
forest park hospital school museum theater cinema restaurant cafe bakery hotel office factory
farm barn stable church castle palace tower square street road highway tunnel airport
platform shop store supermarket bank prison courthouse stadium gym pool playground hall
cottage cabin apartment basement attic garage yard balcony corridor lobby classroom laboratory
studio warehouse workshop mill mine quarry valley hill mountain island cave desert meadow
field orchard vineyard cemetery chapel temple monastery embassy university college campus
gallery zoo aquarium circus fairground marina pier lighthouse canal dam reservoir
""")

SURFACES = words("table desk shelf bench counter floor roof windowsill table tray step stage")

IDEAS = words("""
plan idea problem decision report story question answer proposal rule law theory method
lesson rumor secret promise mistake solution reason excuse opinion suggestion argument
agreement contract budget schedule strategy policy project program design message warning
request complaint explanation description result discovery invention experiment survey
study review article essay speech lecture joke riddle puzzle poem song novel letter recipe
formula map chart diagram list schedule announcement proposal offer deal bargain price
""")

EVENTS = words("""
meeting concert party game match race wedding festival lecture trip journey voyage storm
flood fire election ceremony parade conference interview exam test rehearsal performance
competition tournament celebration funeral holiday vacation dinner lunch breakfast picnic
auction sale show exhibition fair banquet debate trial hearing strike protest
""")

NATURE = words("""
tree flower rose tulip daisy oak pine maple willow bush grass leaf branch root seed stone
rock pebble shell cloud rainbow star moon sun wind breeze wave stream waterfall pond hill
mountain valley volcano glacier iceberg island forest jungle desert canyon cliff
""")

TIME_NOUNS = words("morning afternoon evening night week month year weekend season winter spring summer")

# Irregular plurals; everything else follows :func:`pluralize`'s rules.
IRREGULAR_PLURALS = dict(p.split(":") for p in words("""
child:children person:people man:men woman:women mouse:mice foot:feet tooth:teeth
sheep:sheep fish:fish deer:deer moose:moose elk:elk salmon:salmon trout:trout knife:knives
leaf:leaves wife:wives shelf:shelves loaf:loaves thief:thieves wolf:wolves half:halves
potato:potatoes tomato:tomatoes hero:heroes echo:echoes volcano:volcanoes fisherman:fishermen
postman:postmen farmhand:farmhands policeman:policemen
"""))

# ----------------------------------------------------------------------------- proper nouns

MALE_NAMES = words("""
James John Robert Michael William David Richard Joseph Thomas Charles Daniel Matthew Anthony
Mark Steven Paul Andrew Joshua Kevin Brian George Edward Ronald Timothy Jason Jeffrey Ryan
Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Frank
Gregory Raymond Patrick Jack Dennis Jerry Tyler Aaron Henry Adam Douglas Nathan Peter Zachary
Kyle Walter Harold Jeremy Ethan Carl Keith Roger Gerald Christian Terry Sean Arthur Austin
Noah Lawrence Jesse Joe Bryan Billy Jordan Albert Dylan Bruce Willie Gabriel Alan Juan Logan
Wayne Ralph Roy Eugene Randy Vincent Russell Louis Philip Bobby Johnny Bradley Oliver Hugo
""")

FEMALE_NAMES = words("""
Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Betty
Margaret Sandra Ashley Kimberly Emily Donna Michelle Dorothy Carol Amanda Melissa Deborah
Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Shirley Angela Helen Anna Brenda Pamela
Nicole Emma Samantha Katherine Christine Debra Rachel Catherine Carolyn Janet Ruth Maria
Heather Diane Virginia Julie Joyce Victoria Olivia Kelly Christina Lauren Joan Evelyn Judith
Megan Cheryl Andrea Hannah Martha Jacqueline Frances Gloria Ann Teresa Kathryn Sara Janice
Jean Alice Madison Doris Abigail Julia Judy Grace Denise Amber Marilyn Beverly Danielle
Theresa Sophia Marie Diana Brittany Natalie Isabella Charlotte Rose Alexis Kayla Lucy Clara
""")

SURNAMES = words("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders
Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran
Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods
Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson
Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes
""")

TITLES = words("Dr. Mr. Mrs. Ms. Prof.")
MALE_TITLES = words("Dr. Mr. Prof.")
FEMALE_TITLES = words("Dr. Mrs. Ms. Prof.")

CITIES = words("""
Boston Chicago Denver Seattle Portland Austin Dallas Houston Phoenix Atlanta Miami Orlando
Nashville Memphis Detroit Cleveland Pittsburgh Baltimore Philadelphia Richmond Charlotte
London Paris Berlin Madrid Rome Vienna Prague Dublin Lisbon Amsterdam Brussels Oslo Stockholm
Helsinki Copenhagen Warsaw Budapest Athens Istanbul Cairo Nairobi Lagos Johannesburg Tokyo
Osaka Seoul Beijing Shanghai Bangkok Singapore Sydney Melbourne Auckland Toronto Montreal
Vancouver Ottawa Edinburgh Glasgow Manchester Liverpool Bristol Oxford Cambridge York Leeds
Geneva Zurich Munich Hamburg Milan Venice Florence Naples Barcelona Seville Marseille Lyon
""")

COUNTRIES = words("""
France Germany Spain Italy Portugal Ireland Scotland England Wales Norway Sweden Finland
Denmark Poland Austria Switzerland Greece Turkey Egypt Kenya Nigeria Morocco Japan Korea
China India Thailand Vietnam Australia Canada Mexico Brazil Argentina Chile Peru Colombia
Iceland Belgium Hungary Romania Ukraine
""")

STREETS = words("Oak Maple Elm Pine Cedar Main High Church Mill Park Lake Hill River Station Market")

ORGANIZATIONS = words("""
company school museum hospital library council bank factory university committee club team
newspaper bakery hotel theater orchestra charity airline railway shop firm agency
""")

WEEKDAYS = words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = words("January February March April May June July August September October November December")

# ----------------------------------------------------------------------------- verbs

# Transitive verbs by the kind of object they take.
VERBS_OBJECT = words("""
carry buy find repair paint lose sell open close clean fix move lift drop wash borrow lend
bring take hide check polish wrap pack unpack break build hold drag push pull throw catch
examine measure weigh deliver order replace return keep share use test choose steal collect
""")
VERBS_PERSON = words("""
meet call help visit thank invite follow warn greet hire interview teach remind ask answer
trust blame praise thank join recognize surprise comfort encourage pay rescue chase
""")
VERBS_IDEA = words("""
discuss explain reject approve accept consider describe question support change remember
forget understand review write read present announce publish prepare finish study improve
defend criticize ignore mention notice repeat summarize translate doubt follow
""")
VERBS_FOOD = words("eat cook taste order bake share buy finish prepare serve slice fry boil")
VERBS_PLACE = words("visit leave reach explore clean paint photograph enter cross search guard decorate")
VERBS_EVENT = words("attend organize cancel plan miss enjoy watch postpone announce host join")
VERBS_ANIMAL = words("feed watch photograph follow chase catch find scare rescue train draw")

VERBS_INTRANSITIVE = words("""
arrive laugh smile sleep wait work travel walk run swim dance sing cry shout whisper listen
rest hesitate agree complain return disappear relax worry think pray argue improve recover
""")

# Adverbial "go"-type verbs that take a place after "to".
VERBS_MOTION = words("walk drive travel run hurry return move sail fly ride")

# base: past past-participle
IRREGULAR_VERBS = {v[0]: (v[1], v[2]) for v in (t.split(":") for t in words("""
be:was:been have:had:had do:did:done go:went:gone eat:ate:eaten see:saw:seen take:took:taken
bring:brought:brought buy:bought:bought find:found:found lose:lost:lost sell:sold:sold
build:built:built break:broke:broken hold:held:held throw:threw:thrown catch:caught:caught
choose:chose:chosen steal:stole:stolen keep:kept:kept lend:lent:lent meet:met:met
teach:taught:taught pay:paid:paid write:wrote:written read:read:read forget:forgot:forgotten
understand:understood:understood leave:left:left hide:hid:hidden sleep:slept:slept run:ran:run
swim:swam:swum sing:sang:sung think:thought:thought drive:drove:driven fly:flew:flown
ride:rode:ridden make:made:made know:knew:known tell:told:told speak:spoke:spoken
come:came:come give:gave:given feel:felt:felt hear:heard:heard win:won:won say:said:said
get:got:gotten put:put:put cut:cut:cut begin:began:begun draw:drew:drawn fry:fried:fried
"""))}

# Regular verbs that double their final consonant (stop -> stopped, stopping).
DOUBLING = set(words("stop drop plan shop grab wrap chat jog rob scan step ship hug nod"))

# ----------------------------------------------------------------------------- adjectives

ADJ_PERSON = words("""
young old tall short kind friendly quiet shy brave clever busy tired happy sad angry nervous
calm careful patient polite honest proud lonely curious famous wealthy poor cheerful
gentle serious strict generous modest anxious confident eager grateful worried elderly
talented experienced retired local foreign new lucky sleepy hungry thirsty cautious
""")
ADJ_OBJECT = words("""
old new small large heavy light broken shiny wooden metal plastic leather blue red green
yellow black white brown grey silver golden round square tiny huge cheap expensive antique
modern dusty clean dirty strange beautiful ugly useful fragile sturdy rusty spare empty full
""")
ADJ_FOOD = words("fresh warm hot cold sweet sour spicy salty delicious crisp ripe soft homemade tasty bitter")
ADJ_PLACE = words("""
old new small large quiet busy crowded empty noisy peaceful famous ancient modern narrow wide
dark bright cold warm damp beautiful distant nearby local abandoned historic lovely dusty
""")
ADJ_IDEA = words("""
new simple clever strange important difficult easy useful serious interesting surprising
brilliant foolish careful detailed honest clear confusing long short official secret final
bold modest practical unusual original
""")
ADJ_EVENT = words("long short annual small large noisy formal lively private public successful late early")
ADJ_ANIMAL = words("small large young old wild hungry sleepy friendly brown black white grey tiny fat clever lazy")
ADJ_WEATHER = words("cold warm wet windy sunny foggy cloudy stormy dry freezing mild bright")

# ----------------------------------------------------------------------------- adverbs etc.

ADVERBS_MANNER = words("""
quickly slowly carefully quietly loudly suddenly gently happily sadly angrily patiently
calmly eagerly nervously proudly politely firmly softly secretly easily finally honestly
openly bravely warmly briskly clumsily cheerfully anxiously silently roughly neatly
""")
ADVERBS_FREQUENCY = words("always usually often sometimes rarely never seldom occasionally")

# Time adverbials by the tenses they fit, so that "tomorrow" never meets a past-tense verb.
TIME_PAST = words("""
yesterday last_night last_week last_month last_year this_morning earlier once later_that_day
the_next_morning the_day_before two_days_ago a_week_ago long_ago at_last
""")
TIME_FUTURE = words("tomorrow next_week next_month next_year soon later tonight the_day_after_tomorrow")
TIME_HABITUAL = words("every_morning every_evening every_day every_week on_weekends each_spring twice_a_week")
TIME_ANY = words("""
today this_afternoon this_evening at_dawn at_dusk at_noon at_midnight in_the_morning
in_the_evening after_dinner before_breakfast after_lunch before_sunset
""")

SUBORDINATORS = words("because although when while after before since unless if as_soon_as until")
CONJUNCTIONS = words("and but so yet")

PREP_PLACE = words("in near behind beside outside inside across_from next_to opposite")
PREP_OBJECT = words("under behind beside next_to near")
