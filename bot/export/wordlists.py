"""Default word lists for redaction. Deployments add their own with --names/--places/--allow.

- COMMON: frequent words that may start a sentence capitalised without being a name
  (pronouns, articles, conjunctions, adverbs...), in the languages the bot is most used in and
  written in Latin script: English, Spanish, French, Portuguese, Tagalog, Indonesian/Malay,
  Swahili. A capitalised word at the start of a sentence is kept only if it is one of these.
- ALLOWED: capitalised words that are not personal data anywhere in a sentence (the pronoun
  "I", months, weekdays, a few acronyms of this domain, titles such as "Mr", after which the
  name itself is still redacted).
- NAMES and PLACES: given names and places common in migration corridors, in Latin and other
  scripts. Lists are matched without regard to case or accents; an entry that is also a
  common word (e.g. "Grace", "Lima" = "five" in Tagalog) is matched only when capitalised.

The lists are deliberately broad: the redaction is conservative and a person reviews it.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _entries(text: str) -> frozenset[str]:
    """One entry per line (entries may hold spaces: "Hong Kong")."""
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


COMMON = _words("""
a about above after again against all also always am an and another any are as at away
back be because been before being below both but by can could did do does doing done down
during each every everyone everything few first for from further go had has have having he
her here hers him his how however i if in into is it its just last later let like many maybe
me more most much must my never next no nobody none nor not nothing now of off often on once
one only or other our out over please same she should since so some sometimes still such
than thank thanks that the their them then there these they this those though through to
today together tomorrow too two under until up us very was we were what when where which
while who whom why will with without would yes yesterday yet you your sorry hello hi dear
good well sir madam maam mam ok okay god lord here many most also even
ahora algo algunos antes aquí así aunque bueno cada casi como con cuando de del desde
después donde dos el ella ellas ellos en entonces era es esa ese eso esta este esto
estoy fue gracias hay hola hoy la las le les lo los mamá más me mi mis mucho muy nada ni no
nos nosotros nunca o otra otro para pero poco por porque pues que quien se si sí siempre
sin sobre solo su sus también tengo todo todos trabajo tu un una uno y ya yo
à alors après au aujourd aussi avant avec beaucoup bien bonjour ce cela ces cet cette
chez comme dans de depuis des donc du elle elles en encore et eux hier il ils je jamais
la le les leur lui ma mais malgré me merci mes moi mon ne ni nous on ou où par parce
pas pendant peu plus pour pourquoi puis quand que quel quelle qui sa sans se ses si son
sous sur ta toujours tous tout toute très tu un une vous
agora ainda ao aos aqui às até com como da das de dela dele depois do dos e ela ele eles
em entre era essa esse eu foi há hoje isso isto já lá mas meu minha muito na não nas
nem no nos nós num obrigada obrigado onde os ou para pela pelo por porque quando quem se
sem sempre seu sim só sua também tenho todos um uma você
ako akin amin ang ano apat at ate ay bakit doon dahil dito gusto hindi ikaw iyon kami
kanila kapag kasi kay kaya ko kuya kung lahat lima mga minsan mo na naman namin nang
ngayon ni nila noon noong opo pa pag pagkatapos pero po rin sa saka sila siya tapos tatlo
tayo ulit wala walang yung salamat sana isa dalawa may meron mayroon paano sino kahit
ada adalah agar akan aku anda bahwa bapak belum biasa bisa dan dari dengan di dia
hari ibu ini itu jadi juga kalau kami kamu karena kata ke kemudian ketika kita lalu lagi
lima mereka saat saja sama sampai sangat satu saya sebelum sedang sekarang selama
setelah sudah tapi tentang tetapi tidak untuk waktu yang tiga dua terima kasih
baada bado basi hapa hapana hii huko kama kila kisha lakini mimi na ndiyo ni sana sasa
sisi tena wao wewe yeye asante
l d j qu n s c m t
call tell write send contact help give take get come make see look listen know think want
need work pay paid wait go stop keep ask try said told went came got took gave worked
living life people family children child mother father husband wife son daughter sister
brother friend friends employer employers boss agency agent company money salary wages
work job jobs papers visa passport police government hospital doctor school house home
nobody somebody someone everybody thanks because after before during many most some
llamé llama llámame llámeme llamen escríbeme escríbame contacta contáctame hubungi
appelez appelez-moi contactez écrivez écrivez-moi ligue ligue-me escreva-me contacte
llamé llama escríbeme escribe ayuda dinero trabajo trabajé mis hijos familia patrón patrona
empleador agencia papeles policía gobierno nadie cuando después antes durante también
appelle écris aide argent travail travaillé enfants famille patron employeur agence papiers
police gouvernement personne
liga escreva ajuda dinheiro trabalho trabalhei filhos família patrão empregador agência
tawagan tawag sulat tulong pera trabaho anak pamilya amo ahensya papeles pulis gobyerno
ospital walang sinuman
telepon tulis bantu uang kerja bekerja anak keluarga majikan agen paspor polisi pemerintah
rumah sakit nomor
piga andika msaada pesa kazi watoto familia mwajiri
""")

ALLOWED = _words("""
i i'm i've ok okay ai covid covid19 sars un ngo ngos ofw ofws ilo iom unhcr who sms id
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
janvier février mars avril mai juin juillet août septembre octobre novembre décembre
lunes martes miércoles jueves viernes sábado domingo
lundi mardi mercredi jeudi vendredi samedi dimanche
enero pebrero marso abril hunyo hulyo agosto setyembre oktubre nobyembre disyembre
lunes martes miyerkules huwebes biyernes sabado linggo
januari februari maret mei juni juli agustus oktober desember
senin selasa rabu kamis jumat sabtu minggu
god allah jesus christ christmas easter ramadan eid lent diwali
mr mrs ms miss dr sir madam maam mam boss señor señora don doña monsieur madame
kuya ate tita tito lola lolo manang manong bapak ibu pak bu mama mamá papa papá
whatsapp facebook telegram viber messenger instagram tiktok google youtube zoom imo signal
iban imei atm gcash pdf
""")

# Words of everyday speech in some language that are also names or places: such list entries
# are matched only when capitalised ("Grace told me", not "by the grace of").
AMBIGUOUS = _words("""
made said hope grace joy faith mercy charity precious blessing junior rey ama hawa indah mai
may ram hari li lan sari nur sri ayu dian putri ying mei raj asha sana hana rosa luz paz
gloria dolores mercedes lourdes rosario carmen jun nour salma mali lima chad jordan turkey
china guinea java roma laguna valencia santiago medina congo israel america europe cali
addis paris georgia amina ali wati ani ana made bali lupe emirates
""")

NAMES = _entries("""
Maria
Mary
Marie
Ana
Anna
Juan
Jose
José
Josefina
Rosa
Rosario
Carmen
Luz
Teresa
Lourdes
Dolores
Mercedes
Guadalupe
Lupe
Fernanda
Gabriela
Daniela
Andrea
Sofia
Lucia
Carlos
Luis
Miguel
Jorge
Pedro
Antonio
Manuel
Francisco
Jesus
Fernando
Ricardo
Roberto
Eduardo
Alejandro
Diego
Marisol
Yolanda
Gloria
Elena
Isabel
Patricia
Claudia
Veronica
Jenny
Jennifer
Jessica
Michelle
Joy
Grace
Faith
Hope
Mercy
Charity
Precious
Blessing
Joyce
Ruth
Esther
Sarah
Rebecca
Rachel
Elizabeth
Margaret
Catherine
Angela
Cristina
Kristine
Marites
Maricel
Marilou
Rowena
Rodelyn
Analyn
Jocelyn
Lorna
Nenita
Erlinda
Imelda
Corazon
Leonora
Remedios
Evangeline
Liza
Lorena
Janet
Rey
Reynaldo
Rodrigo
Romeo
Ramon
Arnel
Danilo
Ernesto
Jun
Junior
Siti
Sri
Dewi
Nur
Nurul
Ani
Wati
Yanti
Rina
Ratna
Sari
Lestari
Indah
Putri
Ayu
Fitri
Budi
Agus
Bambang
Joko
Slamet
Eko
Dian
Rizki
Wayan
Made
Ketut
Ram
Sita
Gita
Laxmi
Lakshmi
Radha
Krishna
Shiva
Durga
Saraswati
Kamala
Sunita
Anita
Rekha
Priya
Pooja
Puja
Asha
Usha
Meena
Kumari
Devi
Raj
Rajesh
Ramesh
Suresh
Mahesh
Ganesh
Dinesh
Bikash
Prakash
Santosh
Binod
Hari
Gopal
Sunil
Anil
Bishnu
Sabina
Sarita
Nirmala
Rashmi
Shanti
Kabita
Mohammed
Mohammad
Muhammad
Mohamed
Mohamad
Ahmed
Ahmad
Ali
Hassan
Hussein
Hussain
Ibrahim
Ismail
Omar
Umar
Osman
Othman
Youssef
Yusuf
Khalid
Khaled
Mahmoud
Mustafa
Abdullah
Abdul
Abdel
Rashid
Karim
Samir
Said
Salim
Fatima
Fatma
Aisha
Ayesha
Aicha
Khadija
Maryam
Mariam
Zainab
Zeinab
Amina
Aminata
Halima
Hawa
Salma
Samira
Layla
Leila
Nadia
Noura
Nour
Rania
Yasmin
Yasmina
Hanan
Huda
Asma
Sana
Rukhsana
Nasreen
Shabnam
Farida
Rahima
Rokeya
Nazma
Shirin
Parisa
Zahra
Zohra
Hamid
Reza
Ahmadi
Abebe
Almaz
Tigist
Meron
Selam
Hiwot
Mulu
Mekdes
Tsehay
Yeshi
Bethlehem
Hana
Kidist
Genet
Tesfaye
Girma
Dawit
Haile
Wanjiru
Wambui
Njeri
Akinyi
Achieng
Atieno
Auma
Nafula
Nekesa
Otieno
Ochieng
Kamau
Mwangi
Kiprop
Chebet
Jeptoo
Nakato
Namubiru
Babirye
Nalubega
Adaeze
Chioma
Ngozi
Amaka
Nneka
Funmilayo
Folake
Bisi
Yetunde
Aisatou
Awa
Fatou
Mariama
Kadiatou
Aminata
Ousmane
Mamadou
Moussa
Ibrahima
Abdoulaye
Kofi
Kwame
Ama
Akosua
Abena
Efua
Esi
Adwoa
Olena
Oksana
Natalia
Natasha
Svetlana
Tatiana
Irina
Olga
Galina
Ludmila
Yulia
Iryna
Maryna
Nguyen
Tran
Pham
Huong
Lan
Linh
Mai
Thao
Hoa
Somchai
Malee
Siriporn
Ying
Mei
Li
Wang
Zhang
Chen
محمد
أحمد
احمد
علي
حسن
حسين
إبراهيم
ابراهيم
عمر
يوسف
خالد
محمود
مصطفى
عبدالله
فاطمة
عائشة
عايشة
خديجة
مريم
زينب
أمينة
امينة
حليمة
سلمى
سميرة
ليلى
نادية
نور
رانيا
ياسمين
حنان
هدى
أسماء
اسماء
سارة
زهرة
राम
सीता
गीता
लक्ष्मी
सुनिता
अनिता
प्रिया
पूजा
आशा
""")

PLACES = _entries("""
Philippines
Pilipinas
Manila
Metro Manila
Quezon City
Cebu
Davao
Iloilo
Pampanga
Bulacan
Cavite
Laguna
Batangas
Pangasinan
Ilocos
Isabela
Mindanao
Luzon
Visayas
Indonesia
Jakarta
Surabaya
Bandung
Java
Jawa
Sumatra
Lombok
Bali
Malaysia
Kuala Lumpur
Singapore
Thailand
Bangkok
Vietnam
Viet Nam
Hanoi
Ho Chi Minh
Myanmar
Burma
Yangon
Cambodia
Phnom Penh
Laos
Hong Kong
Macau
Macao
Taiwan
Taipei
China
Beijing
Shanghai
Japan
Tokyo
Korea
Seoul
Nepal
Kathmandu
Pokhara
India
Delhi
New Delhi
Mumbai
Kerala
Chennai
Kolkata
Bangladesh
Dhaka
Chittagong
Sylhet
Sri Lanka
Colombo
Pakistan
Karachi
Lahore
Islamabad
Afghanistan
Kabul
Saudi
Saudi Arabia
KSA
Riyadh
Jeddah
Jiddah
Dammam
Mecca
Makkah
Medina
United Arab Emirates
UAE
Emirates
Dubai
Abu Dhabi
Sharjah
Ajman
Al Ain
Qatar
Doha
Kuwait
Bahrain
Manama
Oman
Muscat
Jordan
Amman
Lebanon
Beirut
Syria
Damascus
Aleppo
Iraq
Baghdad
Erbil
Iran
Tehran
Israel
Tel Aviv
Palestine
Gaza
Yemen
Sanaa
Turkey
Türkiye
Istanbul
Ankara
Egypt
Cairo
Libya
Tripoli
Tunisia
Tunis
Algeria
Algiers
Morocco
Casablanca
Rabat
Tangier
Sudan
Khartoum
Eritrea
Asmara
Ethiopia
Addis Ababa
Addis
Somalia
Mogadishu
Djibouti
Kenya
Nairobi
Mombasa
Uganda
Kampala
Tanzania
Dar es Salaam
Rwanda
Kigali
Burundi
Nigeria
Lagos
Abuja
Kano
Ghana
Accra
Kumasi
Senegal
Dakar
Gambia
Guinea
Conakry
Mali
Bamako
Niger
Niamey
Burkina Faso
Ivory Coast
Côte d'Ivoire
Abidjan
Sierra Leone
Freetown
Liberia
Monrovia
Cameroon
Douala
Yaoundé
Congo
Kinshasa
Chad
South Africa
Johannesburg
Cape Town
Zimbabwe
Harare
Mozambique
Madagascar
Europe
Spain
España
Madrid
Barcelona
Valencia
Seville
Sevilla
Almería
Huelva
Murcia
Italy
Italia
Rome
Roma
Milan
Milano
Naples
Napoli
Sicily
Sicilia
Lampedusa
Greece
Athens
Lesbos
Lesvos
Cyprus
Malta
France
Paris
Marseille
Lyon
Calais
Germany
Deutschland
Berlin
Munich
Hamburg
Frankfurt
Netherlands
Holland
Amsterdam
Belgium
Brussels
Switzerland
Geneva
Zurich
Austria
Vienna
United Kingdom
UK
England
London
Manchester
Birmingham
Ireland
Dublin
Sweden
Stockholm
Norway
Oslo
Denmark
Copenhagen
Poland
Warsaw
Romania
Bucharest
Ukraine
Kyiv
Kiev
Moldova
Russia
Moscow
Portugal
Lisbon
Lisboa
United States
USA
America
New York
Los Angeles
Chicago
Houston
Miami
Texas
California
Arizona
Florida
Canada
Toronto
Montreal
Vancouver
Mexico
México
Tijuana
Ciudad Juárez
Juárez
Tapachula
Monterrey
Guadalajara
Guatemala
Honduras
Tegucigalpa
San Pedro Sula
El Salvador
San Salvador
Nicaragua
Managua
Costa Rica
Panama
Panamá
Darién
Darien
Colombia
Bogotá
Bogota
Medellín
Medellin
Cali
Venezuela
Caracas
Maracaibo
Ecuador
Quito
Guayaquil
Peru
Perú
Lima
Bolivia
La Paz
Chile
Santiago
Argentina
Buenos Aires
Brazil
Brasil
São Paulo
Sao Paulo
Rio de Janeiro
Haiti
Haïti
Port-au-Prince
Dominican Republic
Santo Domingo
Cuba
Havana
Jamaica
Australia
Sydney
Melbourne
New Zealand
Auckland
Fiji
السعودية
الرياض
جدة
الإمارات
الامارات
دبي
أبوظبي
ابوظبي
قطر
الدوحة
الكويت
البحرين
عمان
الأردن
الاردن
لبنان
بيروت
سوريا
دمشق
حلب
العراق
بغداد
مصر
القاهرة
ليبيا
طرابلس
تونس
الجزائر
المغرب
السودان
الخرطوم
إثيوبيا
اثيوبيا
اليمن
صنعاء
نيبال
काठमाडौं
काठमाण्डू
नेपाल
""")
