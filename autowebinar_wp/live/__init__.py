"""Live webinars (DESIGN §7): scheduled slots, one-click registration, calendars, the room.

A separate module beside AutoWebinar: it reads and writes only `livewebinar_*` usermeta
keys, and AutoWebinar never reads them. Pure parts (no I/O, clock injected): `schedule`,
`links`, `ics`, `rules`, `events`, `state`, `codec`.
"""
