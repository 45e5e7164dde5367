"""The connect sequences of the SMU drivers as transcripts: the mode-setting message, the error check and the
read-back of every setting the driver depends on (with the replies the manuals define)."""

from __future__ import annotations

Step = tuple[str, str | None]


def _each(queries: str, replies: str) -> list[Step]:
    """One step per read-back query (the drivers verify one setting per round trip)."""
    return list(zip(queries.split(";"), replies.split(";"), strict=True))


def b2902_configure(compliance: str = "0.001") -> list[Step]:
    c = compliance
    return [
        ("*IDN?", "Keysight Technologies,B2902A,MY1,3.4"),
        (f"*CLS;:OUTP1 OFF;:OUTP2 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR2:FUNC:MODE VOLT;:SENS1:CURR:PROT {c};"
         f":SENS2:CURR:PROT {c};:SENS1:CURR:NPLC 0.01;:SENS2:CURR:NPLC 0.01;:SOUR1:VOLT 0;:SOUR2:VOLT 0;"
         ":SOUR1:FUNC:SHAP DC;:SOUR2:FUNC:SHAP DC;:TRIG1:SOUR AINT;:TRIG2:SOUR AINT;:SOUR1:VOLT:MODE FIX;"
         ":SOUR2:VOLT:MODE FIX;:FORM ASC", None),
        (":SYST:ERR?", '+0,"No error"'),
        *_each(":OUTP1?;:OUTP2?;:SOUR1:FUNC:MODE?;:SOUR2:FUNC:MODE?;:SENS1:CURR:PROT?;:SENS2:CURR:PROT?;"
               ":SOUR1:FUNC:SHAP?;:SOUR2:FUNC:SHAP?;:TRIG1:TRAN:SOUR?;:TRIG2:TRAN:SOUR?;:SENS1:CURR:NPLC?;"
               ":SENS2:CURR:NPLC?",
               f"0;0;VOLT;VOLT;+{float(c):.6E};+{float(c):.6E};DC;DC;AINT;AINT;+1.000000E-02;+1.000000E-02"),
    ]


def k2450_configure(compliance: str = "0.001", idn: str = "KEITHLEY INSTRUMENTS INC.,MODEL 2450,04400001,1.7.3b"
                    ) -> list[Step]:
    return [
        ("*IDN?", idn),
        ("*LANG?", "SCPI"),
        (f'*CLS;:OUTP OFF;:SOUR:FUNC VOLT;:SENS:FUNC "CURR";:SOUR:VOLT 0;:SOUR:VOLT:ILIM {compliance};'
         ":SENS:CURR:NPLC 0.01;:SENS:CURR:AZER OFF;:SENS:COUN 1;:SENS:CURR:AVER OFF;:SOUR:VOLT:DEL 0", None),
        (":SYST:ERR?", '0,"No error"'),
        *_each(":OUTP?;:SOUR:FUNC?;:SENS:FUNC?;:SOUR:VOLT:ILIM?;:SENS:CURR:NPLC?;:SENS:CURR:AZER?;:SENS:COUN?;"
               ":SENS:CURR:AVER?", f'0;VOLT;"CURR:DC";+{float(compliance):.6E};+1.000000E-02;0;1;0'),
    ]


def k2400_configure(compliance: str = "0.001") -> list[Step]:
    return [
        ("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1,C32"),
        ('*CLS;:OUTP OFF;:SOUR:FUNC VOLT;:SOUR:VOLT:MODE FIX;:SENS:FUNC:CONC OFF;:SENS:FUNC "CURR";:SOUR:VOLT 0;'
         f":SENS:CURR:PROT {compliance};:FORM:DATA ASC;:FORM:ELEM CURR;:SENS:CURR:NPLC 0.01;:SOUR:CLE:AUTO OFF;"
         ":ARM:SOUR IMM;:ARM:COUN 1;:TRIG:SOUR IMM;:TRIG:COUN 1", None),
        (":SYST:ERR?", '0,"No error"'),
        *_each(":OUTP?;:SOUR:FUNC?;:SENS:FUNC?;:SENS:CURR:PROT?;:FORM:ELEM?;:SENS:CURR:NPLC?;:SOUR:CLE:AUTO?;"
               ":ARM:COUN?;:TRIG:COUN?", f'0;VOLT;"CURR:DC";+{float(compliance):.6E};CURR;+1.000000E-02;0;1;1'),
    ]
