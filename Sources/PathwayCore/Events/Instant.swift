/// A calendar date without time zone (a birth date).
public struct CivilDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01 (`civil_from_days`).
    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Completed years from `self` to `later`, as an age is counted.
    public func completedYears(until later: CivilDate) -> Int {
        var years = later.year - year
        if (later.month, later.day) < (month, day) { years -= 1 }
        return years
    }
}

/// A point in time, as milliseconds since 1970-01-01T00:00:00Z. Injected, never read from a clock.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public init(_ date: CivilDate) {
        self.millisecondsSinceEpoch = Int64(date.daysSinceEpoch) * 86_400_000
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// The UTC calendar date of this instant.
    public var utcDate: CivilDate {
        let days = Int((Double(millisecondsSinceEpoch) / 86_400_000).rounded(.down))
        return CivilDate(daysSinceEpoch: days)
    }

    /// Completed calendar months from `self` to `later` (UTC): a month is complete on the same
    /// day of the month at the same time, or on the last day of a shorter month (31 Jan → 28 Feb).
    /// Negative when `later` comes first.
    public func completedMonths(until later: Instant) -> Int {
        guard later >= self else { return -later.completedMonths(until: self) }
        let (from, to) = (utcDate, later.utcDate)
        var months = (to.year - from.year) * 12 + (to.month - from.month)
        let lastDay = CivilDate.daysIn(month: to.month, year: to.year)
        let fromDay = min(from.day, lastDay)
        if (to.day, later.millisecondsOfDay) < (fromDay, millisecondsOfDay) { months -= 1 }
        return months
    }

    private var millisecondsOfDay: Int64 {
        let day = Int64(86_400_000)
        return ((millisecondsSinceEpoch % day) + day) % day
    }

    /// RFC 3339 in UTC with second precision (milliseconds when present): `2026-03-01T10:00:00Z`.
    public var description: String {
        let millis = millisecondsSinceEpoch
        let dayMillis = Int64(86_400_000)
        let days = millis >= 0 ? millis / dayMillis : (millis - dayMillis + 1) / dayMillis
        let rest = Int(millis - days * dayMillis)
        let date = CivilDate(daysSinceEpoch: Int(days))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let hms = "\(two(rest / 3_600_000)):\(two(rest / 60_000 % 60)):\(two(rest / 1000 % 60))"
        let ms = rest % 1000
        let fraction = ms == 0 ? "" : "." + String(String(ms + 1000).dropFirst())
        return "\(date)T\(hms)\(fraction)Z"
    }
}

/// Why a time value could not be read; the message names the problem, the caller names the field.
public struct TimeParseError: Error, Sendable, Equatable {
    public var message: String
}

extension CivilDate {
    /// Parses `YYYY-MM-DD`, checking the month and the day against the calendar.
    public static func parse(_ text: String) throws(TimeParseError) -> CivilDate {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else {
            throw TimeParseError(message: "expected a date YYYY-MM-DD, got \"\(text)\"")
        }
        return try parseDate(bytes, text: text)
    }

    fileprivate static func parseDate(_ bytes: [UInt8], text: String) throws(TimeParseError) -> CivilDate {
        guard let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2) else {
            throw TimeParseError(message: "expected digits in a date, got \"\(text)\"")
        }
        guard (1...12).contains(month) else {
            throw TimeParseError(message: "month \(month) does not exist in \"\(text)\"")
        }
        guard year >= 1, (1...daysIn(month: month, year: year)).contains(day) else {
            throw TimeParseError(message: "day \(day) does not exist in month \(month) of \(year) in \"\(text)\"")
        }
        return CivilDate(year: year, month: month, day: day)
    }
}

extension Instant {
    /// Parses RFC 3339 with a mandatory offset (`Z` or `±hh:mm`), with optional fractional seconds.
    public static func parse(_ text: String) throws(TimeParseError) -> Instant {
        let bytes = Array(text.utf8)
        let shape = "expected RFC 3339 date-time with offset, like 2026-03-01T10:00:00Z, got \"\(text)\""
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { throw TimeParseError(message: shape) }
        let date = try CivilDate.parseDate(Array(bytes[0..<10]), text: text)
        guard let hour = digits(bytes, 11, 2), let minute = digits(bytes, 14, 2), let second = digits(bytes, 17, 2)
        else { throw TimeParseError(message: shape) }
        guard hour < 24, minute < 60, second < 61 else {
            throw TimeParseError(message: "time of day out of range in \"\(text)\"")
        }
        var index = 19
        var millis = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 100
            let start = index
            while index < bytes.count, let digit = digitValue(bytes[index]) {
                millis += digit * scale
                scale /= 10
                index += 1
            }
            guard index > start else { throw TimeParseError(message: shape) }
        }
        guard index < bytes.count else { throw TimeParseError(message: "missing UTC offset in \"\(text)\"") }
        var offsetMinutes = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { throw TimeParseError(message: shape) }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let oh = digits(bytes, index + 1, 2), let om = digits(bytes, index + 4, 2), oh < 24, om < 60
            else { throw TimeParseError(message: "malformed UTC offset in \"\(text)\"") }
            offsetMinutes = (oh * 60 + om) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            throw TimeParseError(message: "missing UTC offset in \"\(text)\"")
        }
        let seconds =
            Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
            - Int64(offsetMinutes * 60)
        return Instant(millisecondsSinceEpoch: seconds * 1000 + Int64(millis))
    }
}

private func digitValue(_ byte: UInt8) -> Int? {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
}

private func digits(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
    guard start + count <= bytes.count else { return nil }
    var value = 0
    for byte in bytes[start..<(start + count)] {
        guard let digit = digitValue(byte) else { return nil }
        value = value * 10 + digit
    }
    return value
}
