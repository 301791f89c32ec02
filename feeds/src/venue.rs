//! Static dispatch over the eight venue decoders, for code that picks the venue at run time.

use arb_engine::Exchange;

use crate::binance::BinanceDecoder;
use crate::bingx::BingxDecoder;
use crate::bitget::BitgetDecoder;
use crate::bybit::BybitDecoder;
use crate::decode::{Decoded, FrameDecoder, FrameKind};
use crate::error::ParseError;
use crate::gateio::GateioDecoder;
use crate::kucoin::KucoinDecoder;
use crate::mexc::MexcDecoder;
use crate::okx::OkxDecoder;

/// A decoder for any venue; an enum rather than a trait object so the hot call is a
/// `match`, not an indirect call, and stays generic over the sink.
#[derive(Debug)]
pub enum AnyDecoder {
    /// Binance.
    Binance(BinanceDecoder),
    /// Bybit.
    Bybit(BybitDecoder),
    /// MEXC.
    Mexc(MexcDecoder),
    /// Gate.
    Gateio(GateioDecoder),
    /// KuCoin.
    Kucoin(KucoinDecoder),
    /// OKX.
    Okx(OkxDecoder),
    /// Bitget.
    Bitget(BitgetDecoder),
    /// BingX.
    Bingx(BingxDecoder),
}

macro_rules! dispatch {
    ($self:ident, $d:ident => $e:expr) => {
        match $self {
            AnyDecoder::Binance($d) => $e,
            AnyDecoder::Bybit($d) => $e,
            AnyDecoder::Mexc($d) => $e,
            AnyDecoder::Gateio($d) => $e,
            AnyDecoder::Kucoin($d) => $e,
            AnyDecoder::Okx($d) => $e,
            AnyDecoder::Bitget($d) => $e,
            AnyDecoder::Bingx($d) => $e,
        }
    };
}

impl AnyDecoder {
    /// Creates a fresh decoder for `exchange`.
    pub fn new(exchange: Exchange) -> Self {
        match exchange {
            Exchange::Binance => AnyDecoder::Binance(BinanceDecoder::new()),
            Exchange::Bybit => AnyDecoder::Bybit(BybitDecoder::new()),
            Exchange::Mexc => AnyDecoder::Mexc(MexcDecoder::new()),
            Exchange::Gateio => AnyDecoder::Gateio(GateioDecoder::new()),
            Exchange::Kucoin => AnyDecoder::Kucoin(KucoinDecoder::new()),
            Exchange::Okx => AnyDecoder::Okx(OkxDecoder::new()),
            Exchange::Bitget => AnyDecoder::Bitget(BitgetDecoder::new()),
            Exchange::Bingx => AnyDecoder::Bingx(BingxDecoder::new()),
        }
    }

    /// Forgets the connection's session state (Bybit's merged L1 books) so a reconnect
    /// starts clean, keeping every buffer: a reconnect allocates nothing.
    pub fn reset_session(&mut self) {
        if let AnyDecoder::Bybit(d) = self {
            d.reset_session();
        }
    }

    /// Returns the venue this decoder reads.
    pub fn exchange(&self) -> Exchange {
        match self {
            AnyDecoder::Binance(_) => Exchange::Binance,
            AnyDecoder::Bybit(_) => Exchange::Bybit,
            AnyDecoder::Mexc(_) => Exchange::Mexc,
            AnyDecoder::Gateio(_) => Exchange::Gateio,
            AnyDecoder::Kucoin(_) => Exchange::Kucoin,
            AnyDecoder::Okx(_) => Exchange::Okx,
            AnyDecoder::Bitget(_) => Exchange::Bitget,
            AnyDecoder::Bingx(_) => Exchange::Bingx,
        }
    }
}

impl FrameDecoder for AnyDecoder {
    #[inline]
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        dispatch!(self, d => d.decode(kind, frame, out))
    }

    fn decode_validating<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        dispatch!(self, d => d.decode_validating(kind, frame, out))
    }
}
